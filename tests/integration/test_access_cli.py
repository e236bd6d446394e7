"""``contactpoint orgs|users|clients`` against both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from typer.testing import CliRunner

from contactpoint.access.testing import TEST_CONTEXT, FakeClock, make_service, unique
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context
from contactpoint.cli.main import app
from contactpoint.db.engine import make_engine


@pytest.fixture
def cli(
    module_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CliRunner]:
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", module_db_url)
    monkeypatch.setenv("CONTACTPOINT_VAR_DIR", str(tmp_path_factory.getbasetemp() / "cli-var"))
    # The cheapest hashing the policy allows (a lower value refuses to start).
    for name, value in {"TIME_COST": "2", "MEMORY_KIB": "19456", "PARALLELISM": "1"}.items():
        monkeypatch.setenv(f"CONTACTPOINT_ARGON2_{name}", value)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_org_user_and_client_commands(cli: CliRunner, module_db_url: str, tmp_path: Path) -> None:
    code, area, name = unique("LA"), unique("A"), unique("cli-user")
    made = cli.invoke(
        app,
        ["orgs", "create", code, "--name", "Test Council", "--kind", "council", "--la-code", area],
    )
    assert made.exit_code == 0, made.output
    assert cli.invoke(app, ["orgs", "accredit", code]).exit_code == 0

    created = cli.invoke(
        app,
        [
            "users", "create", name, "--org", code, "--role", "practitioner",
            "--vetted-on", "2026-01-05", "--trained-on", "2026-01-06",
            "--agreement-signed-on", "2026-01-07", "--password-stdin",
        ],
        input="  a passphrase kept verbatim  \n",
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert len(secret) == 32
    assert pyotp.TOTP(secret).now().isdigit()

    engine = make_engine(module_db_url)
    try:
        with engine.begin() as conn:
            service = make_service(conn, FakeClock())
            row_user = service.user(name)
            assert row_user.organisation.code == code
            assert row_user.vetted_on is not None
            stored = conn.exec_driver_sql(
                "SELECT password_hash FROM app_user WHERE username = '" + name + "'"
            ).scalar_one()
            assert service.hashing.verify(stored, "  a passphrase kept verbatim  ")
            assert not service.hashing.verify(stored, "a passphrase kept verbatim")
    finally:
        engine.dispose()

    weak = cli.invoke(
        app,
        ["users", "create", unique("w"), "--org", code, "--role", "practitioner",
         "--password-stdin"],
        input="password123\n",
    )
    assert weak.exit_code == 1

    listed = cli.invoke(app, ["users", "list", "--org", code])
    assert listed.exit_code == 0
    assert name in listed.output
    assert "practitioner" in listed.output
    assert cli.invoke(app, ["users", "suspend", name]).exit_code == 0
    assert "suspended" in cli.invoke(app, ["users", "list", "--org", code]).output
    assert cli.invoke(app, ["users", "unsuspend", name]).exit_code == 0
    reset = cli.invoke(app, ["users", "reset-2fa", name])
    assert reset.exit_code == 0
    new_secret = reset.output.strip().splitlines()[-1]
    assert len(new_secret) == 32
    assert new_secret != secret

    key = ec.generate_private_key(ec.SECP384R1())
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [json.loads(ECAlgorithm.to_jwk(key.public_key()))]}))
    client = cli.invoke(
        app, ["clients", "create", "Case System", "--org", code, "--jwks", str(jwks)]
    )
    assert client.exit_code == 0, client.output
    client_id = client.output.strip().splitlines()[-1]
    assert len(client_id) == 36

    engine = make_engine(module_db_url)
    try:
        with engine.connect() as conn:
            user_events = [e.action for e in trail.for_subject(conn, f"user:{name}")]
            org_events = [e.action for e in trail.for_subject(conn, f"org:{code}")]
            client_events = [e.action for e in trail.for_subject(conn, f"client:{client_id}")]
            last = trail.for_subject(conn, f"user:{name}")[-1]
    finally:
        engine.dispose()
    assert user_events == [
        AuditAction.USER_CREATE,
        AuditAction.USER_SUSPEND,
        AuditAction.USER_SUSPEND,
        AuditAction.MFA_RESET,
    ]
    assert org_events == [AuditAction.ORG_CREATE, AuditAction.ORG_UPDATE]
    assert client_events == [AuditAction.CLIENT_CREATE]
    assert last.actor is not None
    assert last.actor.startswith("cli:")
    assert TEST_CONTEXT.actor != last.actor


def test_unknown_org_and_duplicate_codes_are_refused(cli: CliRunner) -> None:
    code = unique("LA")
    args = ["orgs", "create", code, "--name", "X", "--kind", "council", "--accredited"]
    assert cli.invoke(app, args).exit_code == 0
    assert cli.invoke(app, args).exit_code == 1
    bad_kind = ["orgs", "create", unique("L"), "--name", "X", "--kind", "pub"]
    assert cli.invoke(app, bad_kind).exit_code == 1
    missing = cli.invoke(
        app,
        ["users", "create", unique("u"), "--org", "NOPE", "--role", "auditor", "--password-stdin"],
        input="a perfectly fine passphrase\n",
    )
    assert missing.exit_code == 1


def test_a_cli_account_signs_in_unless_it_must_enrol(
    cli: CliRunner, module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The CLI contract: a vetted, trained, signed account signs in with its printed factors;
    ``--must-enrol`` hands it over instead (review finding 5)."""
    from contactpoint.access.testing import FAST_SETTINGS
    from contactpoint.errors import EnrolmentRequired

    code = unique("LA")
    assert cli.invoke(app, ["orgs", "create", code, "--name", "Council", "--kind", "council",
                            "--la-code", unique("A")]).exit_code == 0
    assert cli.invoke(app, ["orgs", "accredit", code]).exit_code == 0
    settings = FAST_SETTINGS.model_copy(
        update={"var_dir": tmp_path_factory.getbasetemp() / "cli-var"})
    outcomes = []
    for extra in ([], ["--must-enrol"]):
        name = unique("u")
        made = cli.invoke(app, ["users", "create", name, "--org", code, "--role", "practitioner",
                                "--vetted-on", "2026-01-05", "--trained-on", "2026-01-06",
                                "--agreement-signed-on", "2026-01-07", "--password-stdin",
                                *extra], input="a long enough cli passphrase\n")
        assert made.exit_code == 0, made.output
        secret = made.output.strip().splitlines()[-1]
        clock = FakeClock()
        engine = make_engine(module_db_url)
        try:
            with engine.connect() as conn:
                service = make_service(conn, clock, settings)
                try:
                    service.sign_in(name, "a long enough cli passphrase",
                                    pyotp.TOTP(secret).at(clock()), address="192.0.2.9",
                                    ctx=TEST_CONTEXT)
                    outcomes.append("signed in")
                except EnrolmentRequired:
                    outcomes.append("must enrol")
        finally:
            engine.dispose()
    assert outcomes == ["signed in", "must enrol"]
