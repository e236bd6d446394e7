"""``contactpoint link``, ``export links``, ``evaluate`` and ``review …``."""

from __future__ import annotations

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
from contactpoint.domain.csv_safety import open_private
from contactpoint.errors import ContactPointError
from contactpoint.linking import exports, history, models, review, sensitive, service, store

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
    after_commit: service.AfterCommit = []
    with context.console.status("linking") as status, UnitOfWork(context.engine()) as uow:
        def progress(message: str) -> None:
            status.update(message)
            context.console.log(message)

        try:
            if retrain:
                progress("re-estimating the linkage model")
                model = models.retrain(uow.connection, linkage_dir, workdir=linkage_dir)
                progress(f"model {model.version} written to {model.path}")
            matcher = models.matcher_for(linkage_dir)
            summary = service.link(uow.connection, matcher, workdir=linkage_dir,
                                   progress=progress, actor=context.actor(),
                                   after_commit=after_commit)
        except ContactPointError as exc:
            raise _fail(exc) from exc
        uow.commit()
    if summary.model_choice:
        context.console.print(f"model: {summary.model_choice}")
    started = time.perf_counter()
    for step in after_commit:  # the engine's store takes in what the run linked
        step()
    kept = time.perf_counter() - started
    started = time.perf_counter()
    if store.tidy_after_bulk(context.engine(), summary.records_linked):
        context.console.log("vacuumed the rewritten tables")
    tidied = time.perf_counter() - started
    report = asdict(summary)
    report["phases"] = [{"step": step, "seconds": round(sec, 3)} for step, sec in summary.phases]
    report["engine"] = [{"step": step, "seconds": round(sec, 3)} for step, sec in summary.engine]
    report["keep_seconds"] = round(kept, 3)
    report["tidy_seconds"] = round(tidied, 3)
    report["seconds"] = round(summary.seconds + kept + tidied, 3)
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
    if report.get("councils") is not None:
        c = report["councils"]
        allocated = c["children"] - c["unallocated"]
        table.add_row("children given a responsible council", f"{allocated:,}")
        table.add_row("children with no council (national report)", f"{c['unallocated']:,}")
        table.add_row("council transfers", f"{c['transfers']:,}")
    for phase in report["phases"]:
        table.add_row(f"  {phase['step']}", f"{phase['seconds']:.1f} s")
    for phase in report["engine"]:
        table.add_row(f"    engine: {phase['step']}", f"{phase['seconds']:.1f} s")
    if report.get("keep_seconds", 0) >= 0.05:
        table.add_row("  keeping the linked records in the engine's store (after commit)",
                      f"{report['keep_seconds']:.1f} s")
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
    withhold_sensitive: Annotated[bool, typer.Option(
        "--withhold-sensitive", help="Leave out the records of sensitive-service sources "
        "(sexual health, CAMHS, substance misuse), which name those services beside "
        "children.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="With --out: the summary as one JSON document on standard output.")] = False,
) -> None:
    """Write CSV source,source_record_id,child_id for every linked active source record (the
    contract linkage is measured by; the export and how many sensitive-service records it
    holds are audited; the file is written 0600)."""
    if as_json and out is None:
        raise typer.BadParameter("--json needs --out (without it the CSV is standard output)")
    with UnitOfWork(context.engine()) as uow:
        pending = exports.unlinked_count(uow.connection)
        if out is None:
            written = exports.write_links(uow.connection, sys.stdout,
                                          include_sensitive=not withhold_sensitive)
        else:
            with open_private(out) as fh:  # 0600: links name children's records
                written = exports.write_links(uow.connection, fh,
                                              include_sensitive=not withhold_sensitive)
        context.audit(uow.connection, AuditAction.EXPORT, subject="links",
                      details={"rows": written.rows, "to": str(out) if out else "stdout",
                               "sensitive_withheld": written.withheld,
                               "sensitive_included": written.sensitive})
        uow.commit()
    count = written.rows
    if as_json:
        output.emit({"rows": count, "out": str(out), "unlinked_active_records": pending,
                     "sensitive_withheld": written.withheld})
    else:
        context.console.print(f"{count:,} links written" + (f" to {out}" if out else ""))
    if written.withheld:
        context.console.print(f"{written.withheld:,} records of sensitive-service sources left "
                              "out (--withhold-sensitive)")
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
    include_sensitive: Annotated[bool, typer.Option(
        "--include-sensitive", help="Also items with a record of a sensitive-service source: "
        "needs --reason; audited.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (with --include-sensitive).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List review items (source record keys and children only; no personal data). Items
    with a record of a sensitive-service source are left out unless --include-sensitive."""
    with UnitOfWork(context.engine()) as uow:
        try:
            sensitive.require_reason(include_sensitive, reason)
        except ContactPointError as exc:
            raise _fail(exc) from exc
        listing = sensitive.review_items(uow.connection, status=status, limit=limit,
                                         include_sensitive=include_sensitive)
        if include_sensitive:
            sensitive.record_disclosure(uow.connection, what="review-list",
                                        actor=context.actor(), reason=reason,
                                        rows=listing.sensitive_shown)
            uow.commit()
    if as_json:
        output.emit({"status": status, "items": [asdict(i) for i in listing.items],
                     "sensitive_withheld": listing.withheld})
        return
    _print_items(listing.items, f"review items ({status})")
    if listing.withheld:
        context.console.print(f"{listing.withheld:,} items with a record of a "
                              "sensitive-service source left out (--include-sensitive "
                              "--reason … to include them)")


@review_app.command("show")
def review_show(
    item: int,
    as_json: JsonOption = False,
    actor: Annotated[str | None, typer.Option(help="Who looks (default: OS user).")] = None,
) -> None:
    """Both records of ITEM side by side, each comparison's level and match weight, and the
    vetoes that hold. Shows personal data: the view is audited."""
    settings = context.settings()
    with UnitOfWork(context.engine()) as uow:
        try:
            shown = review.evidence(uow.connection, item,
                                    models.current_model(settings.effective_linkage_dir),
                                    actor=context.actor(actor))
        except ContactPointError as exc:
            raise _fail(exc) from exc
        uow.commit()
    data = shown.as_dict()
    if as_json:
        output.emit(data)
        return
    table = Table(title=f"review item {item} ({data['cause']}, {data['status']}, "
                        f"p={data['match_probability'] or 0:.3f})")
    table.add_column("field")
    for side in ("left", "right"):
        table.add_column(f"{data[side]['source']}:{data[side]['source_record_id']}"
                         f" (child {data[side]['child_id'] or 'held'})", overflow="fold")
    for field in review.SHOWN_FIELDS:
        left, right = data["left"]["record"][field], data["right"]["record"][field]
        if left or right:
            table.add_row(field, left or "", right or "")
    ev = data["evidence"]
    waterfall = Table(title="the model's evidence (match weight, bits)")
    for col in ("comparison", "level", "weight", "left", "right"):
        waterfall.add_column(col, overflow="fold")
    waterfall.add_row("prior", "", f"{ev['prior_weight']:+.2f}", "", "")
    for c in ev["comparisons"]:
        waterfall.add_row(c["comparison"], c["level"], f"{c['match_weight']:+.2f}",
                          c["left"] or "", c["right"] or "")
    waterfall.add_row("total", f"p={ev['match_probability']:.4f}", f"{ev['match_weight']:+.2f}",
                      "", "")
    wide = context.out if context.out.is_terminal else Console(width=output.PIPED_HELP_WIDTH)
    wide.print(table)
    wide.print(waterfall)
    wide.print("vetoes: " + (", ".join(ev["vetoes"]) or "none"))


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
                                   actor=context.actor(actor), reason=reason, force=force)
        except ContactPointError as exc:
            raise _fail(exc) from exc
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
            target = history.unmerge(uow.connection, current.key, keys, to_new=new,
                                     actor=context.actor(actor), reason=reason)
        except ContactPointError as exc:
            raise _fail(exc) from exc
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
