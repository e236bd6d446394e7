"""The responsible-council step of a first link run, timed on a copy of a linked database.

    # a linked database (e.g. the demo's, or: synth --children 20000, import, link)
    PYTHONPATH=src .venv/bin/python benchmarks/bench_council_allocate.py sqlite:///var/x.sqlite3

Clears every allocation, then derives all of them again (``allocate(conn, None)``), three
times, inside a transaction that is rolled back (the database is left as it was). Prints
children, wall and CPU seconds.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from sqlalchemy import text

from contactpoint.db.engine import make_engine
from contactpoint.linking import responsibility


def main(url: str, repeats: int = 3) -> None:
    engine = make_engine(url)
    try:
        for _ in range(repeats):
            with engine.connect() as conn, conn.begin() as tx:
                conn.execute(text("DELETE FROM child_responsibility"))
                conn.execute(text("UPDATE child SET owning_la = NULL"))
                wall, cpu = time.perf_counter(), time.process_time()
                summary = responsibility.allocate(conn, None, now=datetime.now(UTC))
                print(f"{summary.children:,} children ({summary.unallocated:,} with no council):"
                      f" wall {time.perf_counter() - wall:.2f} s,"
                      f" cpu {time.process_time() - cpu:.2f} s")
                tx.rollback()
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
