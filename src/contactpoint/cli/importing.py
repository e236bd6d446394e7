"""``contactpoint import PATH… [--source CODE]``: load feed files (CSV, FHIR R4, DfE CTF)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.ingest.discover import discover
from contactpoint.ingest.service import FileResult, ImportOptions, import_file
from contactpoint.ingest.summary import result_dict, write_summary


def _summary_line(r: FileResult) -> str:
    if r.status == "already_imported":
        return f"{r.path}: {r.message}"
    if r.status == "refused":
        return f"[red]{r.path}: refused[/red]: {r.message}"
    return (
        f"{r.path}: [green]landed[/green] - source {r.source} ({r.extract_type}, "
        f"{r.extract_date}): read {r.rows_read}, landed {r.rows_landed}, "
        f"rejected {r.rows_rejected}, retired {r.rows_retired} (new {r.new}, changed "
        f"{r.changed}, unchanged {r.unchanged}, deleted {r.deleted}) in {r.seconds:.2f} s "
        f"({r.rows_per_second:,.0f} rows/s)"
    )


def _ticker(progress: Progress, task: TaskID) -> Callable[[int], None]:
    def tick(n: int) -> None:
        progress.advance(task, n)

    return tick


def import_command(
    paths: Annotated[list[Path], typer.Argument(help="Feed files or directories.")],
    source: Annotated[
        str | None, typer.Option("--source", help="Source code when the file does not say.")
    ] = None,
    reject_limit: Annotated[
        float | None,
        typer.Option("--reject-limit", min=0.0, max=1.0,
                     help="Refuse a file whose reject rate passes this (default 0.05)."),
    ] = None,
    ignore_unknown_columns: Annotated[
        bool, typer.Option("--ignore-unknown-columns", help="Skip CSV columns not in the contract.")
    ] = False,
    extract_type: Annotated[
        str | None,
        typer.Option("--extract-type", help="full|delta when no manifest says (default delta)."),
    ] = None,
    extract_date: Annotated[
        str | None,
        typer.Option("--extract-date", help="YYYY-MM-DD when neither manifest nor file says."),
    ] = None,
    max_age: Annotated[
        int | None,
        typer.Option("--max-age", min=1, help="Reject dates of birth more than N years ago."),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", help="Where the summary and reject reports go "
                     "(default var/reports/import-<time>)."),
    ] = None,
    then_link: Annotated[
        bool,
        typer.Option("--link", help="Then link what landed, as `contactpoint link` does, in "
                     "this process (a daily run saves a start-up); even if a file was refused."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import feed files: exit 0 when every file landed (or was already imported), 1 if not."""
    settings = context.settings()
    now = datetime.now(UTC)
    if extract_type not in (None, "full", "delta"):
        raise typer.BadParameter("--extract-type is full or delta")
    parsed_date = None
    if extract_date is not None:
        try:
            parsed_date = date.fromisoformat(extract_date)
        except ValueError:
            raise typer.BadParameter("--extract-date is YYYY-MM-DD") from None
    today = now.date()
    min_birth = date(1900, 1, 1)
    if max_age is not None:
        min_birth = today.replace(year=today.year - max_age, day=min(today.day, 28))
    run_dir = report_dir or settings.var_dir / "reports" / f"import-{now:%Y%m%dT%H%M%S%fZ}"
    options = ImportOptions(
        report_dir=run_dir, source=source,
        reject_limit=settings.reject_limit if reject_limit is None else reject_limit,
        ignore_unknown_columns=ignore_unknown_columns, extract_type=extract_type,
        extract_date=parsed_date, min_birth_date=min_birth,
        max_xml_bytes=settings.max_xml_bytes, today=today, actor=context.actor(),
    )
    found = discover(paths)
    for note in found.notes:
        context.console.print(f"[yellow]note:[/yellow] {note}")
    if not found.files:
        context.console.print("[red]no feed files found[/red]")
        raise typer.Exit(1)
    if any(path.suffix.lower() == ".ndjson" for path in found.files):
        from contactpoint.ingest import fhir_reader, fhir_workers

        # its imports overlap the files before the first NDJSON (when one is that large)
        fhir_workers.start_early(found.files, fhir_reader.PARALLEL_MIN_LINES)
    engine = context.engine()
    results: list[FileResult] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeElapsedColumn(), console=context.console,
        transient=False,
    ) as progress:
        for path in found.files:
            size = path.stat().st_size if path.is_file() else 0
            task = progress.add_task(path.name, total=size or None)
            result = import_file(engine, path, options, _ticker(progress, task))
            progress.update(task, completed=size)
            results.append(result)
    summary = write_summary(run_dir, results, found.notes)
    if not as_json:
        _print_results(results)
        context.out.print(f"summary written to {summary}")
    link_report = None
    if then_link:  # what landed is stored whatever else was refused: link it
        from contactpoint.cli.linking import print_link_report, run_link

        link_report = run_link(retrain=False)
        if not as_json:
            print_link_report(link_report)
    ok = all(r.ok for r in results)
    if as_json:
        output.emit({"ok": ok, "files": [result_dict(r) for r in results], "notes": found.notes,
                     "summary_file": str(summary), "link": link_report})
    if not ok:
        raise typer.Exit(1)


def _print_results(results: list[FileResult]) -> None:
    for r in results:
        context.out.print(_summary_line(r), soft_wrap=True)
        if r.source_registered and r.status == "landed":
            lowest = "" if r.source_recognised else " (unknown source: lowest authority)"
            context.out.print(f"registered new source {r.source}{lowest}")
        if r.unknown_deletes:
            context.out.print(f"{r.path.name}: {r.unknown_deletes} deletes named records "
                              "this source never sent")
        if r.reject_report:
            context.out.print(f"{r.path.name}: reject report {r.reject_report}")


def register(app: typer.Typer) -> None:
    app.command(name="import")(import_command)
