"""Time the link service's database I/O on an already-linked database (prints figures).

    CONTACTPOINT_DATABASE_URL=... .venv/bin/python benchmarks/link_service_io.py

Reads every source record into a record frame, reads the existing frame in full and as the
changes since a mark (what a daily run reads), and rewrites every child assignment (link
events + UPDATE) inside a transaction that is rolled back: nothing changes.
"""

from __future__ import annotations

import time

import polars as pl

from contactpoint.db.base import utcnow
from contactpoint.db.engine import make_engine
from contactpoint.linking import snapshot, store
from contactpoint.settings import load_settings


def main() -> None:
    url = load_settings().effective_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        t = time.perf_counter()
        records = store.read_records(conn, "true")
        print(f"read all records: {records.height:,} in {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        existing = store.read_existing(conn)
        print(f"read existing (full): {existing.height:,} in {time.perf_counter() - t:.2f} s")
        mark = snapshot.whole(conn, existing).mark
        t = time.perf_counter()
        changes = snapshot.read_existing(conn, mark)
        print(f"read existing (changes since a mark): {changes.records.height:,} re-read of "
              f"{changes.changed.len() if changes.changed is not None else 0:,} changed in "
              f"{time.perf_counter() - t:.2f} s")
        assign = existing.select(
            "record_key", "child_key", pl.lit("auto").alias("band"),
            pl.lit(None, dtype=pl.Float64()).alias("match_probability"),
        )
        t = time.perf_counter()
        store.apply_assignments(conn, assign, kind="link", now=utcnow(), model_version="bench")
        print(f"write assignments + events: {assign.height:,} in {time.perf_counter() - t:.2f} s")
        conn.rollback()
    engine.dispose()


if __name__ == "__main__":
    main()
