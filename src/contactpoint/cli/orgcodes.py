"""``contactpoint orgs codes …``: which organisation a feed's ``service_org_code`` stands for."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from contactpoint.access.models import AuditContext
from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.db.uow import UnitOfWork
from contactpoint.errors import ContactPointError
from contactpoint.involvement import orgcodes
from contactpoint.involvement.orgcodes import FeedCodeKind

codes_app = typer.Typer(
    help="Feed codes (URN, ODS code, LA code) of organisations: a feed-derived involvement "
    "counts as the organisation's once its service_org_code is mapped here.",
    no_args_is_help=True,
)


def _ctx() -> AuditContext:
    return AuditContext(f"cli:{getpass.getuser()}"[:128], None, None)


def _code_json(code: orgcodes.FeedCode) -> dict[str, str]:
    return {"feed_code": code.feed_code, "kind": code.kind.value, "organisation": code.org_code}


def _refused(exc: ContactPointError) -> typer.Exit:
    context.console.print(f"[red]refused:[/red] {exc.message}")
    return typer.Exit(1)


@codes_app.command("add")
def codes_add(
    org: Annotated[str, typer.Argument(help="the organisation's code in the index")],
    feed_code: Annotated[str, typer.Argument(help="the code feeds send as service_org_code")],
    kind: Annotated[FeedCodeKind, typer.Option("--kind")] = FeedCodeKind.LOCAL,
    as_json: JsonOption = False,
) -> None:
    """Map FEED_CODE to organisation ORG (audited)."""
    with UnitOfWork(context.engine()) as uow:
        try:
            made = orgcodes.add(uow.connection, org, feed_code, kind, ctx=_ctx())
        except ContactPointError as exc:
            raise _refused(exc) from exc
        uow.commit()
    if as_json:
        output.emit(_code_json(made))
        return
    typer.echo(f"feed code {made.feed_code} ({made.kind.value}) maps to {made.org_code}")


@codes_app.command("remove")
def codes_remove(feed_code: str, as_json: JsonOption = False) -> None:
    """Remove a feed code's mapping (audited)."""
    with UnitOfWork(context.engine()) as uow:
        try:
            gone = orgcodes.remove(uow.connection, feed_code, ctx=_ctx())
        except ContactPointError as exc:
            raise _refused(exc) from exc
        uow.commit()
    if as_json:
        output.emit({**_code_json(gone), "removed": True})
        return
    typer.echo(f"feed code {gone.feed_code} no longer maps to {gone.org_code}")


@codes_app.command("list")
def codes_list(
    org: Annotated[str | None, typer.Option("--org")] = None,
    as_json: JsonOption = False,
) -> None:
    """List feed codes: feed code, kind, organisation."""
    with UnitOfWork(context.engine()) as uow:
        found = orgcodes.codes(uow.connection, org)
    if as_json:
        output.emit({"codes": [_code_json(c) for c in found]})
        return
    for c in found:
        typer.echo(f"{c.feed_code}\t{c.kind.value}\t{c.org_code}")
