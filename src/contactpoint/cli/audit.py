"""``contactpoint audit``: verify the trail, sign checkpoints, show recent events."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from contactpoint.audit import trail
from contactpoint.audit.checkpoint import (
    create_checkpoint,
    load_verifier_key,
    publish,
    signing_key,
)
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.verify import verify
from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.errors import ContactPointError

app = typer.Typer(help="Audit trail: verify, checkpoint, show.", no_args_is_help=True)

NoRecord = Annotated[
    bool, typer.Option("--no-record", help="Do not add an audit event for this command.")
]


def _config() -> AuditConfig:
    return AuditConfig.from_settings(context.settings())


def _operator() -> str:
    try:
        return f"os:{getpass.getuser()}"[:128]
    except (KeyError, OSError):
        return "os:unknown"


def _record(action: trail.AuditAction, details: dict[str, Any]) -> None:
    try:
        with context.engine().begin() as conn:
            trail.append(conn, action=action, actor=_operator(), organisation=None, details=details)
    except (SQLAlchemyError, ContactPointError) as exc:
        context.console.print(f"[yellow]warning:[/yellow] could not record the audit event: {exc}")


@app.command("verify")
def verify_command(
    checkpoints: Annotated[
        Path | None,
        typer.Option("--checkpoints", help="Published checkpoint directory (default: configured)."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Trusted verifier key file (default: the published one)."),
    ] = None,
    as_json: JsonOption = False,
    no_record: NoRecord = False,
) -> None:
    """Check every link and checkpoint; exit 1 naming the first bad entry when broken."""
    config = _config()
    directory = checkpoints or config.checkpoint_dir
    try:
        verifier = load_verifier_key(config, key)
    except ContactPointError as exc:
        context.console.print(f"[red]verifier key unusable:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    with context.engine().connect() as conn:
        report = verify(
            conn, key=verifier, checkpoint_dir=directory, witness_file=config.witness_file
        )
    if as_json:
        output.emit(report.__dict__)
    else:
        context.out.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
        for warning in report.warnings:
            context.console.print(f"warning: {warning}", markup=False, soft_wrap=True)
    if not no_record:
        _record(
            trail.AuditAction.AUDIT_VERIFY,
            {"ok": report.ok, "entries": report.entries, "first_bad": report.first_bad},
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_command(as_json: JsonOption = False) -> None:
    """Sign a checkpoint of the chain now and publish it (run from a timer, e.g. every 5 min)."""
    config = _config()
    try:
        checkpoint = create_checkpoint(context.engine(), config)
    except ContactPointError as exc:
        context.console.print(f"checkpoint refused: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    except OSError as exc:  # stored (if it got that far) but not published: re-run to publish
        context.console.print(f"checkpoint not published: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    if as_json:
        output.emit(None if checkpoint is None else {
            "tree_size": checkpoint.tree_size, "root": checkpoint.root_hex,
            "published_in": str(config.checkpoint_dir)})
        return
    if checkpoint is None:
        context.out.print("no new entries since the last checkpoint")
        return
    context.out.print(
        f"checkpoint: {checkpoint.tree_size} entries, root {checkpoint.root_hex}, "
        f"published in {config.checkpoint_dir}",
        markup=False,
        highlight=False,
    )


@app.command("key")
def key_command(as_json: JsonOption = False) -> None:
    """Print the verifier (public) key, creating the signing key on first use."""
    config = _config()
    verifier = signing_key(config).verifier
    publish(context.engine(), config, verifier)
    if as_json:
        output.emit({"verifier_key": verifier.vkey()})
        return
    context.out.print(verifier.vkey(), markup=False, highlight=False)


@app.command("show")
def show_command(
    last: Annotated[int, typer.Option("--last", min=1, max=10_000, help="How many events.")] = 20,
    details: Annotated[
        bool, typer.Option("--details", help="Also print details (may hold personal data).")
    ] = False,
    no_record: NoRecord = False,
    as_json: JsonOption = False,
) -> None:
    """Show the most recent events, oldest first, one tab-separated line each."""
    with context.engine().connect() as conn:
        entries = trail.recent(conn, last=last)
    if as_json:
        output.emit([{
            "seq": e.seq, "at": e.at, "action": e.action, "actor": e.actor,
            "organisation": e.organisation, "subject": e.subject, "reason": e.reason,
            **({"details": e.details} if details else {}),
        } for e in entries])
    else:
        _print_entries(entries, details)
    if not no_record:
        _record(trail.AuditAction.AUDIT_READ, {"last": last, "details": details})


def _print_entries(entries: list[trail.AuditEntry], details: bool) -> None:
    context.out.print(
        "\t".join(("seq", "at (UTC)", "action", "actor", "org", "subject", "reason")),
        markup=False,
        highlight=False,
    )
    for e in entries:
        cells = [
            str(e.seq),
            e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            e.action,
            e.actor or "-",
            e.organisation or "-",
            e.subject or "-",
            e.reason or "-",
        ]
        if details:
            cells.append(json.dumps(e.details, sort_keys=True, ensure_ascii=False))
        context.out.print(
            "\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells),
            markup=False,
            highlight=False,
            emoji=False,
            soft_wrap=True,
        )
