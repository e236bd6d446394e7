"""``contactpoint synth``: write a synthetic population's feeds and its truth file."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contactpoint.cli import context, output
from contactpoint.cli.output import JsonOption
from contactpoint.errors import ValidationFailed
from contactpoint.synth.conditions import CONDITIONS, with_conditions
from contactpoint.synth.config import DEFAULT_EXTRACT_DATE, SynthConfig, with_rates
from contactpoint.synth.delta import DeltaOptions, write_delta
from contactpoint.synth.generate import generate

DEFAULT_CHILDREN = 10_000
DEFAULT_CHUNK = 50_000


def synth(
    children: Annotated[int | None, typer.Option(
        min=1, help=f"How many children (default {DEFAULT_CHILDREN}).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 1,
    out: Annotated[Path, typer.Option(help="Directory to write the feeds into.")] = Path(
        "var/synth"),
    extract_date: Annotated[str | None, typer.Option(
        help=f"Extract date, YYYY-MM-DD (default {DEFAULT_EXTRACT_DATE.isoformat()}; a delta: "
             "the day after its base's).")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        min=1000, help=f"Children per chunk (default {DEFAULT_CHUNK}).")] = None,
    delta_of: Annotated[Path | None, typer.Option(
        help="Write a daily delta against this base directory instead of a full extract: "
             "the base population is redrawn from its synth.json (--seed only seeds the "
             "delta's own draws).")
    ] = None,
    delta_records: Annotated[int, typer.Option(min=1, help="Records in the delta.")] = 10_000,
    rate: Annotated[list[str] | None, typer.Option(
        help="Override a population rate, NAME=VALUE (repeatable), e.g. twin_rate=0.03.")
    ] = None,
    condition: Annotated[list[str] | None, typer.Option(
        help="A robustness condition (repeatable; applied before --rate): "
             f"{', '.join(CONDITIONS)}, or all (every one but dedupe_only).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write every feed (CSV, FHIR NDJSON, CTF XML) and truth.csv for a synthetic population."""
    try:
        day = date.fromisoformat(extract_date) if extract_date else None
    except ValueError as exc:
        raise typer.BadParameter("extract date must be YYYY-MM-DD") from exc
    overrides: dict[str, float] = {}
    for item in rate or []:
        name, sep, value = item.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError as exc:
            raise typer.BadParameter(f"--rate {item!r}: expected NAME=NUMBER") from exc
        if not sep:
            raise typer.BadParameter(f"--rate {item!r}: expected NAME=NUMBER")
    started = time.perf_counter()
    if delta_of is not None:
        given = [opt for opt, value in (("--children", children), ("--chunk-size", chunk_size),
                                        ("--rate", rate), ("--condition", condition))
                 if value]
        if given:
            raise typer.BadParameter(
                f"{', '.join(given)} cannot be combined with --delta-of: the delta redraws the "
                "base population from the base's synth.json")
        try:
            counts = write_delta(delta_of, out, DeltaOptions(records=delta_records, seed=seed,
                                                             extract_date=day))
        except ValidationFailed as exc:
            context.console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from exc
    else:
        try:
            base = SynthConfig(children=children or DEFAULT_CHILDREN, seed=seed,
                               extract_date=day or DEFAULT_EXTRACT_DATE,
                               chunk_children=chunk_size or DEFAULT_CHUNK)
            cfg = with_rates(with_conditions(base, condition or []), overrides)
        except ValidationFailed as exc:
            raise typer.BadParameter(exc.message) from exc
        with Progress(TextColumn("synth"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=context.console) as bar:
            task = bar.add_task("children", total=cfg.children)
            counts = generate(cfg, out, progress=lambda k: bar.advance(task, k))
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    sources = len(counts)
    if as_json:
        output.emit({"out": str(out), "records": total, "records_by_source": counts,
                     "seconds": round(elapsed, 3)})
        return
    context.out.print(f"wrote {total} source records from {sources} sources to {out} "
                      f"in {elapsed:.1f} s")


def register(app: typer.Typer) -> None:
    app.command(name="synth")(synth)
