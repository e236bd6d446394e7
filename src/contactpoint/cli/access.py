"""``contactpoint orgs|users|clients``: organisations, accounts and machine clients."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection

from contactpoint.access import clients, totp
from contactpoint.access.config import load_access_settings, system_clock
from contactpoint.access.models import AuditContext, Organisation
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.permissions import CLIENT_DEFAULT, Permission, Role
from contactpoint.access.service import AccessService
from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.db.uow import UnitOfWork
from contactpoint.errors import ContactPointError

orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
clients_app = typer.Typer(help="Machine clients (SMART backend services).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from contactpoint.cli.orgcodes import codes_app

    orgs_app.add_typer(codes_app, name="codes")
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(clients_app, name="clients")


def _ctx() -> AuditContext:
    return AuditContext(f"cli:{getpass.getuser()}"[:128], None, None)


@contextmanager
def _service() -> Iterator[tuple[AccessService, Connection]]:
    """One committed unit of work; a ContactPointError becomes a message and exit code 1."""
    access = load_access_settings()
    try:
        with UnitOfWork(context.engine()) as uow:
            yield (
                AccessService(
                    uow.connection, access, PasswordHashing(access.hash_parameters), system_clock
                ),
                uow.connection,
            )
            uow.commit()
    except ContactPointError as exc:
        context.console.print(f"[red]refused:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{name} must be YYYY-MM-DD") from exc


@orgs_app.command("create")
def orgs_create(
    code: str,
    name: Annotated[str, typer.Option("--name")],
    kind: Annotated[str, typer.Option("--kind", help="council|school|health|police|charity|other")],
    accredited: Annotated[bool, typer.Option("--accredited")] = False,
    la_code: Annotated[str | None, typer.Option("--la-code", help="council area code")] = None,
    as_json: JsonOption = False,
) -> None:
    """Register an organisation."""
    with _service() as (service, _):
        org = service.create_organisation(
            code, name, kind, accredited=accredited, la_code=la_code, ctx=_ctx()
        )
    if as_json:
        output.emit(_org_json(org))
        return
    state = "accredited" if org.accredited else "not accredited"
    typer.echo(f"organisation {org.code} created ({org.kind}, {state})")


@orgs_app.command("accredit")
def orgs_accredit(
    code: str,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="withdraw accreditation")] = False,
    as_json: JsonOption = False,
) -> None:
    """Accredit an organisation (or withdraw its accreditation)."""
    with _service() as (service, _):
        org = service.set_accredited(code, not withdraw, ctx=_ctx())
    if as_json:
        output.emit(_org_json(org))
        return
    typer.echo(f"organisation {org.code} {'accredited' if org.accredited else 'not accredited'}")


@orgs_app.command("list")
def orgs_list(as_json: JsonOption = False) -> None:
    """List organisations: code, kind, council area, accreditation, name."""
    with _service() as (service, _):
        found = service.organisations()
    if as_json:
        output.emit([_org_json(o) for o in found])
        return
    for org in found:
        flag = "accredited" if org.accredited else "not-accredited"
        typer.echo(f"{org.code}\t{org.kind}\t{org.la_code or '-'}\t{flag}\t{org.name}")


def _org_json(org: Organisation) -> dict[str, object]:
    return {"code": org.code, "kind": org.kind, "la_code": org.la_code,
            "accredited": org.accredited, "name": org.name}


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.read()
        return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    username: str,
    org: Annotated[str, typer.Option("--org")],
    role: Annotated[Role, typer.Option("--role")],
    vetted_on: Annotated[
        str | None, typer.Option("--vetted-on", help="DBS check, YYYY-MM-DD")
    ] = None,
    trained_on: Annotated[str | None, typer.Option("--trained-on", help="YYYY-MM-DD")] = None,
    agreement_signed_on: Annotated[
        str | None, typer.Option("--agreement-signed-on", help="YYYY-MM-DD")
    ] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    must_enrol: Annotated[
        bool,
        typer.Option(
            "--must-enrol",
            help="The first sign-in must set a new password and a new authenticator (for an "
            "account handed to someone else).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account; prints its TOTP enrolment secret once, alone on the last line
    (with ``--json``: the ``totp_secret`` and ``enrolment_uri`` members).

    The operator at the server's shell already holds every power, so by default the account
    signs in with these factors (the CLI contract); ``--must-enrol`` hands it over instead.
    Accounts made through the admin API always enrol at first sign-in."""
    password = _read_password(password_stdin)
    with _service() as (service, _):
        made = service.create_user(
            username,
            password,
            organisation_code=org,
            role=role,
            vetted_on=_date(vetted_on, "--vetted-on"),
            trained_on=_date(trained_on, "--trained-on"),
            agreement_signed_on=_date(agreement_signed_on, "--agreement-signed-on"),
            ctx=_ctx(),
            must_enrol=must_enrol,
        )
    issuer = load_access_settings().totp_issuer
    uri = totp.provisioning_uri(made.totp_secret, made.user.username, issuer)
    if as_json:
        output.emit({"username": made.user.username, "organisation": org, "role": role.value,
                     "must_enrol": must_enrol, "enrolment_uri": uri,
                     "totp_secret": made.totp_secret})
        return
    typer.echo(f"user {made.user.username} created in {org} as {role.value}")
    typer.echo(f"enrolment URI: {uri}")
    typer.echo("TOTP secret (shown once):")
    typer.echo(made.totp_secret)


def _suspension(username: str, value: bool, as_json: bool) -> None:
    with _service() as (service, _):
        user = service.set_suspended(service.user(username), value, ctx=_ctx())
    if as_json:
        output.emit({"username": user.username, "suspended": user.suspended})
        return
    typer.echo(f"user {user.username} {'suspended' if user.suspended else 'active'}")


@users_app.command("suspend")
def users_suspend(username: str, as_json: JsonOption = False) -> None:
    """Suspend an account (and end its sessions)."""
    _suspension(username, True, as_json)


@users_app.command("unsuspend")
def users_unsuspend(username: str, as_json: JsonOption = False) -> None:
    """Lift a suspension."""
    _suspension(username, False, as_json)


@users_app.command("reset-2fa")
def users_reset_2fa(username: str, as_json: JsonOption = False) -> None:
    """New TOTP secret (ends sessions); prints it once, alone on the last line."""
    with _service() as (service, _):
        user = service.user(username)
        secret = service.reset_totp(user, ctx=_ctx())
    if as_json:
        output.emit({"username": user.username, "totp_secret": secret})
        return
    typer.echo(f"second factor of {user.username} reset; TOTP secret (shown once):")
    typer.echo(secret)


@users_app.command("list")
def users_list(
    org: Annotated[str | None, typer.Option("--org")] = None, as_json: JsonOption = False
) -> None:
    """List accounts: username, organisation, role, state, vetted on."""
    with _service() as (service, _):
        found = [u for u in service.users(all_areas=True)
                 if org is None or u.organisation.code == org]
        now = service.clock()
    rows = [{"username": u.username, "organisation": u.organisation.code, "role": u.role.value,
             "suspended": u.suspended,
             "locked": u.locked_until is not None and u.locked_until > now,
             "vetted_on": u.vetted_on.isoformat() if u.vetted_on else None} for u in found]
    if as_json:
        output.emit(rows)
        return
    for row in rows:
        state = "suspended" if row["suspended"] else "active"
        state += ",locked" if row["locked"] else ""
        typer.echo(f"{row['username']}\t{row['organisation']}\t{row['role']}\t{state}\t"
                   f"{row['vetted_on'] or '-'}")


@clients_app.command("create")
def clients_create(
    name: str,
    org: Annotated[str, typer.Option("--org")],
    jwks: Annotated[Path, typer.Option("--jwks", exists=True, dir_okay=False, readable=True)],
    permission: Annotated[
        list[Permission] | None, typer.Option("--permission", help="repeatable; default: read")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a machine client by its public key set; prints client_id alone on the last line."""
    try:
        key_set = json.loads(jwks.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter("--jwks must be a JSON Web Key Set file") from exc
    granted = frozenset(permission) if permission else CLIENT_DEFAULT
    with _service() as (service, conn):
        organisation = service.organisation(org)
        client = clients.create(
            conn, name, organisation, key_set, now=service.clock(), permissions=granted
        )
        service.audit(
            _ctx(),
            AuditAction.CLIENT_CREATE,
            subject=f"client:{client.client_id}",
            details={"organisation": org, "permissions": sorted(granted)},
        )
    if as_json:
        output.emit({"client_id": client.client_id, "name": client.name, "organisation": org,
                     "permissions": sorted(granted)})
        return
    typer.echo(f"client {client.name} registered for {org}; client_id:")
    typer.echo(client.client_id)
