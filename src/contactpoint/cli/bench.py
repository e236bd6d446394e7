"""``contactpoint bench …``: performance figures, printed as JSON (never asserted in tests).

Each benchmark runs the real command in a child process where that is what a user would run,
so the figures (seconds, rows per second, peak RSS) are what an operator sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption

app = typer.Typer(help="Performance figures (JSON on standard output).", no_args_is_help=True)


def _print(figures: dict[str, Any]) -> None:
    """Always one JSON document on standard output (``--json`` is accepted for scripts)."""
    output.emit(json.loads(json.dumps(figures, default=str)))


@app.command("synth")
def bench_synth(
    children: Annotated[int, typer.Option(min=1)] = 100_000,
    seed: Annotated[int, typer.Option()] = 1,
    out: Annotated[Path | None, typer.Option(help="Keep the feeds here.")] = None,
    as_json: JsonOption = True,
) -> None:
    """Time and peak RSS of `contactpoint synth` for N children."""
    from contactpoint.synth.bench import run_synth_benchmark

    _print(run_synth_benchmark(children, seed, out))


@app.command("import")
def bench_import(
    rows: Annotated[int, typer.Option(min=1)] = 1_000_000,
    url: Annotated[
        str | None, typer.Option(help="Database URL (default: the configured one).")
    ] = None,
    as_json: JsonOption = True,
) -> None:
    """Rows per second and peak RSS of `contactpoint import` for one CSV file of N rows."""
    from contactpoint.ingest.bench import run_import_benchmark

    _print(run_import_benchmark(rows, url or context.settings().effective_database_url))


@app.command("audit")
def bench_audit(
    entries: Annotated[int, typer.Option(min=1)] = 100_000,
    url: Annotated[
        str | None, typer.Option(help="A migrated, empty scratch database (default: configured).")
    ] = None,
    append_sample: Annotated[int, typer.Option(min=0)] = 20_000,
    as_json: JsonOption = True,
) -> None:
    """Append and verify rates of the audit trail."""
    from contactpoint.audit.bench import run_audit_benchmark

    _print(
        run_audit_benchmark(
            entries, url or context.settings().effective_database_url, append_sample=append_sample
        )
    )


@app.command("search")
def bench_search(
    children: Annotated[int, typer.Option(min=100)] = 10_000,
    seed: Annotated[int, typer.Option()] = 7,
    url: Annotated[
        str | None, typer.Option(help="A scratch database (default: a SQLite file in workdir).")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Feeds, var dir and the server's log.")] = Path(
        "var/bench-search"),
    held_out: Annotated[float, typer.Option(min=0.0, max=0.5,
                                            help="Share of children left out of the import.")
                        ] = 0.02,
    queries: Annotated[int, typer.Option(min=10, help="Queries about children in the index.")
                       ] = 2000,
    clients: Annotated[str, typer.Option(help="Concurrent clients per run, comma-separated.")
                       ] = "1,20",
    repeat: Annotated[int, typer.Option(min=1, help="Send the set this many times when "
                                                    "concurrent.")] = 1,
    existing: Annotated[Path | None, typer.Option(
        help="Feeds (with truth.csv) of a population already imported and linked into --url, "
             "its var dir copied to WORKDIR/var: no synth, import or link.")] = None,
    as_json: JsonOption = True,
) -> None:
    """Search accuracy (top-1, top-3, absent children at >= 0.9, twin confusions) and latency
    (p50/p95/p99 at client and server, 1 and N clients) over HTTP against `serve`."""
    from contactpoint.children.bench import run_search_benchmark

    target = url or f"sqlite:///{(workdir / 'bench.sqlite3').resolve()}"
    _print(run_search_benchmark(
        children=children, seed=seed, url=target, workdir=workdir, share_held=held_out,
        queries=queries, clients=tuple(int(c) for c in clients.split(",")), repeat=repeat,
        existing=existing))
