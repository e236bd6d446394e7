"""``contactpoint demo``: the main job end to end on the embedded default.

synthetic population -> schema -> import every feed -> link -> accuracy against the truth ->
a demo organisation and account -> serve. Every step is the real command; re-running is safe
(the feeds are deterministic, imports are idempotent, linking is incremental).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from contactpoint.access.config import load_access_settings, system_clock
from contactpoint.access.models import AuditContext
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.permissions import Role
from contactpoint.access.service import AccessService
from contactpoint.cli import context, importing, linking, serve, synth
from contactpoint.db import migrate
from contactpoint.db.uow import UnitOfWork

DEMO_ORG = "DEMO-LA"
DEMO_USER = "demo.practitioner"
DEMO_COUNCIL_ORG = "DEMO-COUNCIL-TEAM"
DEMO_COUNCIL_USER = "demo.council"
DEMO_SHIELDS = 5


def _step(title: str) -> None:
    context.console.rule(f"[bold]{title}")


def _demo_account(credentials_file: Path) -> dict[str, str]:
    """Create the demo council and practitioner once; the password lives in a 0600 file."""
    if credentials_file.exists():
        return dict(json.loads(credentials_file.read_text(encoding="utf-8")))
    access = load_access_settings()
    password = secrets.token_urlsafe(18)  # 24 characters, never on the blocklist
    today = date.today()  # noqa: DTZ011 - a calendar date for vetting records
    ctx = AuditContext("cli:demo", None, None)
    with UnitOfWork(context.engine()) as uow:
        service = AccessService(
            uow.connection, access, PasswordHashing(access.hash_parameters), system_clock
        )
        if not any(org.code == DEMO_ORG for org in service.organisations()):
            service.create_organisation(
                DEMO_ORG, "Demo council", "council", accredited=True, la_code="DEMO", ctx=ctx
            )
        made = service.create_user(
            DEMO_USER, password, organisation_code=DEMO_ORG, role=Role.PRACTITIONER,
            vetted_on=today, trained_on=today, agreement_signed_on=today, ctx=ctx,
        )
        uow.commit()
    credentials = {"username": DEMO_USER, "password": password, "totp_secret": made.totp_secret}
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(credentials, fh)
    return credentials


def _write_credentials(path: Path, credentials: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(credentials, fh)


def _demo_council(credentials_file: Path) -> dict[str, str] | None:
    """A council team for the council responsible for the most linked children, with a few
    of its children shielded (through the shield service, audited). ``None``: no child has a
    council (nothing linked yet)."""
    from sqlalchemy import func, select

    from contactpoint.access.models import Principal
    from contactpoint.access.permissions import permissions_for
    from contactpoint.council import shields
    from contactpoint.db.tables import child

    if credentials_file.exists():
        return dict(json.loads(credentials_file.read_text(encoding="utf-8")))
    access = load_access_settings()
    password = secrets.token_urlsafe(18)
    now = system_clock()
    ctx = AuditContext("cli:demo", None, None)
    with UnitOfWork(context.engine()) as uow:
        conn = uow.connection
        busiest = conn.execute(
            select(child.c.owning_la, func.count()).where(
                child.c.status == "active", child.c.owning_la.is_not(None))
            .group_by(child.c.owning_la).order_by(func.count().desc(), child.c.owning_la)
            .limit(1)).first()
        if busiest is None:
            return None
        la = str(busiest[0])
        service = AccessService(conn, access, PasswordHashing(access.hash_parameters),
                                system_clock)
        if not any(org.code == DEMO_COUNCIL_ORG for org in service.organisations()):
            service.create_organisation(DEMO_COUNCIL_ORG, f"Demo council team (LA {la})",
                                        "council", accredited=True, la_code=la, ctx=ctx)
        made = service.create_user(
            DEMO_COUNCIL_USER, password, organisation_code=DEMO_COUNCIL_ORG,
            role=Role.COUNCIL_TEAM, vetted_on=now.date(), trained_on=now.date(),
            agreement_signed_on=now.date(), ctx=ctx)
        user = service.user(DEMO_COUNCIL_USER)
        team = Principal("user", user.id, user.username, user.organisation, user.role,
                         permissions_for(user.role))
        ids = conn.execute(select(child.c.child_id).where(
            child.c.owning_la == la, child.c.status == "active").order_by(child.c.id)
            .limit(DEMO_SHIELDS)).scalars().all()
        for n, cid in enumerate(ids):
            shields.set_shield(conn, cid, team, reason="demo: synthetic shield",
                               review_on=now.date() + timedelta(days=20 + 60 * n), now=now)
        uow.commit()
    credentials = {"username": DEMO_COUNCIL_USER, "password": password,
                   "totp_secret": made.totp_secret, "la_code": la,
                   "shielded_children": " ".join(ids)}
    _write_credentials(credentials_file, credentials)
    return credentials


def demo(
    children: Annotated[int, typer.Option(min=100, help="Synthetic population size.")] = 5_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic population.")] = 2026,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop before serving.")] = False,
) -> None:
    """Run the main job end to end on the embedded default (SQLite + DuckDB) and serve it."""
    settings = context.settings()
    demo_dir = settings.var_dir / "demo"
    feeds = demo_dir / f"feeds-{children}-{seed}"

    _step("1. schema")
    migrate.upgrade(settings.effective_database_url)
    context.out.print(f"database: {settings.effective_database_url}")

    _step("2. synthetic population")
    if (feeds / "truth.csv").exists():
        context.out.print(f"feeds already written in {feeds}")
    else:
        synth.synth(children=children, seed=seed, out=feeds)

    _step("3. import every feed")
    importing.import_command(paths=[feeds], report_dir=demo_dir / "reports")

    _step("4. link")
    linking.link(retrain=False)

    _step("5. accuracy against the synthetic truth")
    linking.evaluate(truth=feeds / "truth.csv")

    _step("6. a demo account")
    credentials = _demo_account(demo_dir / "credentials.json")
    context.out.print(
        f"organisation {DEMO_ORG} (accredited council), user [bold]{credentials['username']}[/]\n"
        f"password and TOTP secret: {demo_dir / 'credentials.json'} (file mode 0600)\n"
        f"sign in: POST http://{host}:{port}/api/auth/login with JSON "
        '{"username", "password", "otp"} (otp = the current code of the TOTP secret)'
    )
    council = _demo_council(demo_dir / "council-credentials.json")
    if council is not None:
        context.out.print(
            f"council team user [bold]{council['username']}[/] for LA {council['la_code']}, "
            f"which is responsible for real synthetic children; shielded: "
            f"{council['shielded_children']}\n"
            f"password and TOTP secret: {demo_dir / 'council-credentials.json'} (mode 0600)"
        )
    if no_serve:
        return
    _step("7. serve")
    serve.serve(host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
