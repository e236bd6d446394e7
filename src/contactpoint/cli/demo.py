"""``contactpoint demo``: the main job end to end on the embedded default.

synthetic population -> schema -> import every feed -> link -> accuracy against the truth ->
demo organisations and one account per role -> serve. Every step is the real command;
re-running is safe (the feeds are deterministic, imports are idempotent, linking is
incremental, the accounts are made once).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection, func, select

from contactpoint.access.config import load_access_settings, system_clock
from contactpoint.access.models import AuditContext, Principal
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.permissions import Role, permissions_for
from contactpoint.access.service import AccessService
from contactpoint.cli import context, importing, linking, serve, synth
from contactpoint.council import shields
from contactpoint.db import migrate
from contactpoint.db.tables import child
from contactpoint.db.uow import UnitOfWork
from contactpoint.errors import NotFound

# One organisation per kind of user. The council and the school share the area of the council
# responsible for the most linked children (synthetic England's), so the council team manages
# the practitioner and owns real synthetic children, some of them shielded.
DEMO_ORGS: tuple[tuple[str, str, str, bool], ...] = (  # code, name, kind, in the area
    ("DEMO-LA", "Demo council", "council", True),
    ("DEMO-SCHOOL", "Demo primary school", "school", True),
    ("DEMO-NATIONAL", "Demo national team", "other", False),
)
DEMO_ACCOUNTS: tuple[tuple[Role, str, str], ...] = (
    (Role.PRACTITIONER, "demo.practitioner", "DEMO-SCHOOL"),
    (Role.COUNCIL_TEAM, "demo.council", "DEMO-LA"),
    (Role.NATIONAL_ADMIN, "demo.admin", "DEMO-NATIONAL"),
    (Role.AUDITOR, "demo.auditor", "DEMO-NATIONAL"),
)
DEMO_SHIELDS = 5
ACCOUNTS_FILE = "accounts.json"


def _step(title: str) -> None:
    context.console.rule(f"[bold]{title}")


def _demo_accounts(accounts_file: Path) -> list[dict[str, str]]:
    """One cleared account per role, made once; passwords and secrets live in a 0600 file.

    No code has been accepted for them yet, so each one's first sign-in in the browser shows
    the QR code (and the secret printed here works as well).
    """
    if accounts_file.exists():
        return list(json.loads(accounts_file.read_text(encoding="utf-8"))["accounts"])
    access = load_access_settings()
    today = date.today()  # noqa: DTZ011 - a calendar date for vetting records
    ctx = AuditContext("cli:demo", None, None)
    made: list[dict[str, str]] = []
    with UnitOfWork(context.engine()) as uow:
        service = AccessService(
            uow.connection, access, PasswordHashing(access.hash_parameters), system_clock
        )
        area = _busiest_council(uow.connection) or "DEMO"
        existing = {org.code for org in service.organisations()}
        for code, name, kind, in_area in DEMO_ORGS:
            if code not in existing:
                service.create_organisation(
                    code, name, kind, accredited=True, la_code=area if in_area else None,
                    ctx=ctx,
                )
        for role, username, org in DEMO_ACCOUNTS:
            try:
                service.user(username)
            except NotFound:
                pass
            else:
                context.console.print(
                    f"[red]{username} exists but {accounts_file} is missing: remove the demo "
                    "database (make clean) to start again[/red]"
                )
                raise typer.Exit(1)
            password = secrets.token_urlsafe(18)  # 24 characters, never on the blocklist
            new = service.create_user(
                username, password, organisation_code=org, role=role,
                vetted_on=today, trained_on=today, agreement_signed_on=today, ctx=ctx,
                must_enrol=False,  # the demo's factors go only to its 0600 accounts file
            )
            made.append(
                {"role": role.value, "username": username, "password": password,
                 "totp_secret": new.totp_secret}
            )
        shielded = _shield_some(uow.connection, service, area)
        uow.commit()
    if shielded:
        context.console.print(f"council {area}: demo.council's area; shielded children: "
                              + " ".join(shielded))
    accounts_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(accounts_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"accounts": made}, fh)
    return made


def _busiest_council(conn: Connection) -> str | None:
    """The council responsible for the most linked children (``None``: none has one yet)."""
    busiest = conn.execute(
        select(child.c.owning_la, func.count()).where(
            child.c.status == "active", child.c.owning_la.is_not(None))
        .group_by(child.c.owning_la).order_by(func.count().desc(), child.c.owning_la).limit(1)
    ).first()
    return None if busiest is None else str(busiest[0])


def _shield_some(conn: Connection, service: AccessService, area: str) -> list[str]:
    """Shield a few of the area's children through the council team's shield service (audited,
    with review dates), so the restricted views can be tried."""
    user = service.user("demo.council")
    team = Principal("user", user.id, user.username, user.organisation, user.role,
                     permissions_for(user.role))
    ids = [str(c) for c in conn.execute(
        select(child.c.child_id).where(child.c.owning_la == area, child.c.status == "active",
                                       child.c.shielded.is_(False))
        .order_by(child.c.id).limit(DEMO_SHIELDS)).scalars()]
    now = system_clock()
    for n, cid in enumerate(ids):
        shields.set_shield(conn, cid, team, reason="demo: synthetic shield",
                           review_on=now.date() + timedelta(days=20 + 60 * n), now=now)
    return ids


def _print_accounts(accounts: list[dict[str, str]]) -> None:
    for a in accounts:
        _line(f"account {a['role']} {a['username']} {a['password']} {a['totp_secret']}")


def _line(text: str) -> None:
    """One line on standard output, never wrapped or styled (checkers read these lines)."""
    context.out.print(text, markup=False, highlight=False, soft_wrap=True, emoji=False)


def _announce_when_up(url: str, accounts: list[dict[str, str]], timeout: float = 60.0) -> None:
    """Wait until the server answers ``/health``, then print where it is and the accounts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}health", timeout=2) as answer:  # noqa: S310 - our own http URL  # nosec B310
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        context.console.print(f"[red]the server did not answer at {url} within {timeout:.0f} s")
        return
    _line(f"serving at {url}")
    _print_accounts(accounts)
    context.console.print(
        "open the address, sign in with a username and password, then the code from an "
        "authenticator app holding the TOTP secret (for example: oathtool --totp -b SECRET)"
    )


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

    _step("6. demo accounts, one per role")
    accounts_file = demo_dir / ACCOUNTS_FILE
    accounts = _demo_accounts(accounts_file)
    context.console.print(f"passwords and TOTP secrets are kept in {accounts_file} (mode 0600)")
    if no_serve:
        _print_accounts(accounts)
        return
    _step("7. serve")
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a display name  # nosec B104
    url = f"http://{shown_host}:{port}/"
    # The demo names its own public origin (machine-client routes need one; never the Host).
    os.environ.setdefault("CONTACTPOINT_PUBLIC_ORIGIN", url.rstrip("/"))
    threading.Thread(target=_announce_when_up, args=(url, accounts), daemon=True).start()
    serve.serve(host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
