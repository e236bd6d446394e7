"""Default Splink (``default_splink.py``, the children's profile) on the records of an imported
database: the same records a first ``contactpoint link`` of that database clusters, side by side
(issue 18, targets.md: time <= 1.5x and peak RSS <= 1x default Splink's on the same records).

    /usr/bin/time -v .venv/bin/python benchmarks/splink_on_database.py DATABASE_URL \\
        feeds/truth.csv [--workdir DIR]

Reads the pending records as the link run does (``store.read_pending``), trains default Splink
(u by random sampling, EM on two blocks), predicts at p >= 0.5 and takes connected components;
prints the seconds of the read and of Splink, CPU seconds, peak RSS and pairwise quality.
Writes nothing to the database.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))

from default_splink import run_splink_default

from contactpoint.linking import store


def _read(url: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    engine = create_engine(url)
    with engine.connect() as conn:
        records = store.read_pending(conn).drop("current_child_key")
        ids = pl.DataFrame(
            [tuple(r) for r in conn.execute(text(
                "SELECT id, source_code, source_record_id FROM source_record"))],
            schema={"record_key": pl.Int64(), "source": pl.Utf8(),
                    "source_record_id": pl.Utf8()}, orient="row")
    engine.dispose()
    return records, ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("truth", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/splink-default"))
    args = parser.parse_args()
    started = time.perf_counter()
    records, ids = _read(args.url)
    read_s = time.perf_counter() - started
    truth = ids.join(pl.read_csv(args.truth, infer_schema=False), on=["source",
                                                                       "source_record_id"])
    truth = truth.filter(pl.col("record_key").is_in(records["record_key"].implode())).select(
        "record_key", pl.col("person_id").alias("person"))
    del ids
    metrics, splink_s = run_splink_default(records, truth, args.workdir, profile="children")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "records": records.height, "read_s": round(read_s, 1),
        "splink_s": round(splink_s, 1), "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_kib": usage.ru_maxrss,
        "precision": round(metrics.precision, 6), "recall": round(metrics.recall, 6),
    }))


if __name__ == "__main__":
    main()
