"""`contactpoint audit …` end to end: checkpoint, verify (0 / 1 naming the entry), show, key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contactpoint.audit import trail
from contactpoint.audit.keys import VerifierKey
from contactpoint.cli import context
from contactpoint.cli.main import app
from contactpoint.db.engine import make_engine


@pytest.fixture
def cli_env(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CONTACTPOINT_VAR_DIR", str(tmp_path))
    context.settings.cache_clear()
    context.engine.cache_clear()
    engine = make_engine(fresh_db_url)
    with engine.begin() as conn:
        for i in range(5):
            trail.append(
                conn,
                action=trail.AuditAction.CHILD_VIEW,
                actor="user-1",
                organisation="LA001",
                subject=f"child-{i}",
                details={"returned": [i]},
            )
    engine.dispose()
    yield tmp_path
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_checkpoint_verify_show_and_key(cli_env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "checkpoint: 5 entries" in result.output
    published = cli_env / "audit-checkpoints"
    assert (published / "checkpoint-000000000005").is_file()
    key_file = cli_env / "audit-signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    vkey = runner.invoke(app, ["audit", "key"])
    assert vkey.exit_code == 0
    assert VerifierKey.parse(vkey.stdout.strip()).vkey() == (
        (published / "audit-log.vkey").read_text().strip()
    )

    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit trail OK: 5 entries" in result.stdout
    # verify recorded itself: a sixth entry, beyond the checkpoint, still verifies
    result = runner.invoke(app, ["audit", "verify", "--json", "--no-record"])
    assert result.exit_code == 0, result.output
    assert '"entries": 6' in result.stdout

    shown = runner.invoke(app, ["audit", "show", "--last", "2", "--no-record"])
    assert shown.exit_code == 0
    assert "audit:chain:verify" in shown.stdout
    assert "record:child:view" in shown.stdout


def test_verify_exits_1_naming_the_first_bad_entry_every_time(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    engine = context.engine()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq = 3")
    for _ in range(3):  # recording each run appends to the tail; the answer never changes
        result = runner.invoke(app, ["audit", "verify"])
        assert result.exit_code == 1
        assert "BROKEN at entry 3" in result.stdout
        assert "entry 3 is missing" in result.stdout
    # entries 6-8 are the recorded verify runs, after the checkpoint: checkpointing reads them
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq = 7")
    refused = runner.invoke(app, ["audit", "checkpoint"])
    assert refused.exit_code == 1
    assert "entry 7" in refused.output
