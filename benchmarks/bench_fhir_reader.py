"""The FHIR NDJSON reader on one file, serially: the fast shape check against the model path.

    .venv/bin/python benchmarks/bench_fhir_reader.py DELTA_DIR/nhs-pds.ndjson [ROUNDS]

(a delta from ``contactpoint synth --delta-of FEEDS --seed 23 --out DELTA_DIR``). Prints, per
path, the rows assembled, the rejects, and the wall and CPU seconds of the best round; both
paths must give the same rows and rejects. The model path is the fast one with
``fhir_fast.conforms`` answering ``False`` for every resource.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

from contactpoint.ingest import fhir_fast
from contactpoint.ingest.fhir_reader import FhirFeed
from contactpoint.ingest.readers import ReaderOptions
from contactpoint.ingest.rejects import RejectSink


def read(path: Path) -> tuple[pl.DataFrame, int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    feed = FhirFeed(path, ReaderOptions(), lambda _n: None, workers=0)
    with RejectSink() as sink:
        rows = pl.concat([frame for frame, _ in feed.batches(sink)])
        rejects = sink.rows
    return rows, rejects, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    path = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    fast_check = fhir_fast.conforms
    results = {}
    for name, check in (("model", lambda _t, _d: False), ("fast", fast_check)):
        fhir_fast.conforms = check  # type: ignore[assignment]
        best = min((read(path) for _ in range(rounds)), key=lambda r: r[3])
        results[name] = best
        print(f"{name:>5}: {best[0].height:,} rows, {best[1]:,} rejects, "
              f"wall {best[2]:.2f} s, CPU {best[3]:.2f} s (best of {rounds})")
    fhir_fast.conforms = fast_check  # type: ignore[assignment]
    same = results["fast"][0].equals(results["model"][0]) and (
        results["fast"][1] == results["model"][1])
    print("identical rows and rejects" if same else "DIFFERENT rows or rejects")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
