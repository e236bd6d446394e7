"""``contactpoint link``, ``export links``, ``evaluate`` and ``review …``."""

from __future__ import annotations

import getpass
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.db.uow import UnitOfWork
from contactpoint.errors import ContactPointError
from contactpoint.linkage import exports, history, models, review, service, store

export_app = typer.Typer(help="Export what the index holds.", no_args_is_help=True)
review_app = typer.Typer(help="The clerical review queue, merges and unmerges.",
                         no_args_is_help=True)


def _fail(exc: ContactPointError) -> typer.Exit:
    context.console.print(f"[red]{exc.message}[/red]")
    return typer.Exit(1)


def run_link(retrain: bool) -> dict[str, Any]:
    """One link run, committed and audited; its summary as a JSON-ready dict."""
    settings = context.settings()
    linkage_dir = settings.effective_linkage_dir
    linkage_dir.mkdir(parents=True, exist_ok=True)
    with context.console.status("linking") as status, UnitOfWork(context.engine()) as uow:
        def progress(message: str) -> None:
            status.update(message)
            context.console.log(message)

        try:
            if retrain:
                progress("re-estimating the linkage model")
                model = models.retrain(uow.connection, linkage_dir, workdir=linkage_dir)
                progress(f"model {model.version} written to {model.path}")
            else:
                model = models.current_model(linkage_dir)
            matcher = models.EngineMatcher(model, cache_dir=linkage_dir / "engine")
            summary = service.link(uow.connection, matcher,
                                   workdir=linkage_dir, progress=progress)
        except ContactPointError as exc:
            raise _fail(exc) from exc
        context.audit(uow.connection, AuditAction.LINK_RUN,
                      subject=f"model:{summary.model_version}",
                      details={"mode": summary.mode, "records_in": summary.records_in,
                               "records_linked": summary.records_linked,
                               "children_created": summary.children_created,
                               "review_items": summary.review_items,
                               "records_held": summary.records_held})
        uow.commit()
    started = time.perf_counter()
    if store.tidy_after_bulk(context.engine(), summary.records_linked):
        context.console.log("vacuumed the rewritten tables")
    tidied = time.perf_counter() - started
    report = asdict(summary)
    report["phases"] = [{"step": step, "seconds": round(sec, 3)} for step, sec in summary.phases]
    report["engine"] = [{"step": step, "seconds": round(sec, 3)} for step, sec in summary.engine]
    report["tidy_seconds"] = round(tidied, 3)
    report["seconds"] = round(summary.seconds + tidied, 3)
    return report


def print_link_report(report: dict[str, Any]) -> None:
    table = Table(title=f"link run ({report['mode']}, model {report['model_version']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, key in (
        ("records in", "records_in"), ("records linked", "records_linked"),
        ("children created", "children_created"),
        ("review items queued", "review_items"),
        ("records held for review", "records_held"),
        ("children archived (no active records)", "children_archived"),
    ):
        table.add_row(label, f"{report[key]:,}")
    for phase in report["phases"]:
        table.add_row(f"  {phase['step']}", f"{phase['seconds']:.1f} s")
    for phase in report["engine"]:
        table.add_row(f"    engine: {phase['step']}", f"{phase['seconds']:.1f} s")
    if report["tidy_seconds"] >= 0.05:
        table.add_row("  vacuuming the rewritten tables (after commit)",
                      f"{report['tidy_seconds']:.1f} s")
    table.add_row("time", f"{report['seconds']:.1f} s")
    context.out.print(table)


def link(
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Re-estimate the model first.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Link every source record not yet linked (incremental after the first run)."""
    report = run_link(retrain)
    if as_json:
        output.emit(report)
    else:
        print_link_report(report)


@export_app.command("links")
def export_links(
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default stdout).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="With --out: the summary as one JSON document on standard output.")] = False,
) -> None:
    """Write CSV source,source_record_id,child_id for every linked active source record."""
    if as_json and out is None:
        raise typer.BadParameter("--json needs --out (without it the CSV is standard output)")
    with UnitOfWork(context.engine()) as uow:
        pending = exports.unlinked_count(uow.connection)
        if out is None:
            count = exports.write_links(uow.connection, sys.stdout)
        else:
            with out.open("w", newline="", encoding="utf-8") as fh:
                count = exports.write_links(uow.connection, fh)
        context.audit(uow.connection, AuditAction.EXPORT, subject="links",
                      details={"rows": count, "to": str(out) if out else "stdout"})
        uow.commit()
    if as_json:
        output.emit({"rows": count, "out": str(out), "unlinked_active_records": pending})
    else:
        context.console.print(f"{count:,} links written" + (f" to {out}" if out else ""))
    if pending:
        context.console.print(f"[yellow]warning: {pending:,} active source records are not "
                              "linked yet (run `contactpoint link`)[/yellow]")


def evaluate(
    truth: Annotated[Path, typer.Option("--truth", exists=True, dir_okay=False,
                                        help="CSV source,source_record_id,person_id")],
    as_json: JsonOption = False,
) -> None:
    """Pairwise precision, recall, F1, false merges and splits against a truth file."""
    with UnitOfWork(context.engine()) as uow:
        try:
            m = exports.evaluate(uow.connection, truth)
        except ContactPointError as exc:
            raise _fail(exc) from exc
    if as_json:
        output.emit(asdict(m))
        return
    table = Table(title="pairwise linkage accuracy")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (("precision", f"{m.precision:.6f}"), ("recall", f"{m.recall:.6f}"),
                         ("F1", f"{m.f1:.6f}"), ("true pairs", f"{m.true_pairs:,}"),
                         ("predicted pairs", f"{m.predicted_pairs:,}"),
                         ("false merges (pairs)", f"{m.false_merge_pairs:,}"),
                         ("false splits (pairs)", f"{m.false_split_pairs:,}"),
                         ("records", f"{m.records:,}"), ("persons", f"{m.persons:,}"),
                         ("children", f"{m.clusters:,}")):
        table.add_row(label, value)
    context.out.print(table)


@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option(help="open, decided, superseded or all")] = "open",
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List review items (source record keys and children only; no personal data)."""
    with UnitOfWork(context.engine()) as uow:
        items = review.list_items(uow.connection, status=status, limit=limit)
    if as_json:
        output.emit({"status": status, "items": [asdict(i) for i in items]})
        return
    _print_items(items, f"review items ({status})")


@review_app.command("show")
def review_show(item: int, as_json: JsonOption = False) -> None:
    """Show review item ITEM (source record keys and children only; no personal data)."""
    with UnitOfWork(context.engine()) as uow:
        found = review.list_items(uow.connection, status="all", limit=1, item_id=item)
    if not found:
        context.console.print(f"[red]no review item {item}[/red]")
        raise typer.Exit(1)
    if as_json:
        output.emit(asdict(found[0]))
        return
    _print_items(found, f"review item {item}")


def _print_items(items: list[review.ReviewItem], title: str) -> None:
    table = Table(title=title)
    for col in ("item", "left record", "left child", "right record", "right child", "p",
                "cause", "status"):
        table.add_column(col, overflow="fold")
    for i in items:
        p = "" if i.match_probability is None else f"{i.match_probability:.3f}"
        table.add_row(str(i.id), f"{i.left.source_code}:{i.left.source_record_id}",
                      i.left.child_id or "(held)",
                      f"{i.right.source_code}:{i.right.source_record_id}",
                      i.right.child_id or "(held)", p, i.cause, i.status)
    wide = context.out if context.out.is_terminal else Console(width=output.PIPED_HELP_WIDTH)
    wide.print(table)


@review_app.command("decide")
def review_decide(
    item: int,
    same: Annotated[bool, typer.Option("--same", help="The same child: join them.")] = False,
    different: Annotated[bool, typer.Option("--different", help="Different children.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Override an NHS-number conflict "
                                        "(needs --reason; recorded).")] = False,
    actor: Annotated[str | None, typer.Option(help="Who decided (default: OS user).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Decide review item ITEM: --same or --different."""
    if same == different:
        context.console.print("[red]say exactly one of --same or --different[/red]")
        raise typer.Exit(2)
    with UnitOfWork(context.engine()) as uow:
        try:
            result = review.decide(uow.connection, item, "same" if same else "different",
                                   actor=actor or getpass.getuser(), reason=reason, force=force)
        except ContactPointError as exc:
            raise _fail(exc) from exc
        context.audit(uow.connection, AuditAction.REVIEW_DECISION, subject=f"review:{item}",
                      reason=reason, who=actor,
                      details={"outcome": result.outcome, "forced": force,
                               "child_id": result.child_id})
        uow.commit()
    if as_json:
        output.emit(asdict(result))
        return
    where = f": child {result.child_id}" if result.child_id else ""
    context.out.print(f"item {result.item_id} decided {result.outcome}{where}")


def _record_keys(uow: UnitOfWork, refs: list[str]) -> list[int]:
    from sqlalchemy import select

    from contactpoint.db.tables import source_record

    keys = []
    for ref in (r for value in refs for r in value.replace(",", " ").split()):
        source, _, srid = ref.partition(":")
        if not srid:
            raise typer.BadParameter(f"{ref!r}: give records as SOURCE:SOURCE_RECORD_ID")
        key = uow.connection.execute(select(source_record.c.id).where(
            source_record.c.source_code == source, source_record.c.source_record_id == srid)
        ).scalar()
        if key is None:
            raise typer.BadParameter(f"no source record {ref!r}")
        keys.append(int(key))
    return keys


@review_app.command("unmerge")
def review_unmerge(
    child_id: str,
    records: Annotated[list[str], typer.Option("--records", "-r",
                                               help="SOURCE:SOURCE_RECORD_ID (repeat, or "
                                               "comma-separated)")],
    new: Annotated[bool, typer.Option("--new", help="Always split into a new child.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
    actor: Annotated[str | None, typer.Option(help="Who decided (default: OS user).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Split source records out of CHILD_ID (back to their previous child, or a new one)."""
    with UnitOfWork(context.engine()) as uow:
        try:
            current = history.resolve_child(uow.connection, child_id)
            keys = _record_keys(uow, records)
            target = history.unmerge(uow.connection, current.key, keys,
                                     to_new=new, actor=actor or getpass.getuser(), reason=reason)
        except ContactPointError as exc:
            raise _fail(exc) from exc
        context.audit(uow.connection, AuditAction.UNMERGE, subject=f"child:{current.child_id}",
                      reason=reason, who=actor,
                      details={"records": len(keys), "into": target.child_id})
        uow.commit()
    if as_json:
        output.emit({"records": len(keys), "from": current.child_id, "to": target.child_id})
        return
    context.out.print(f"{len(keys)} record(s) moved from {current.child_id} "
                      f"to {target.child_id}")


def register(app: typer.Typer) -> None:
    app.command("link")(link)
    app.add_typer(export_app, name="export")
    app.command("evaluate")(evaluate)
    app.add_typer(review_app, name="review")
