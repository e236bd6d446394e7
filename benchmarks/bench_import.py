"""CSV import benchmark: rows/s and peak RSS on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_import.py --rows 1000000 \
        --sqlite var/bench-import.sqlite3 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/contactpoint_bench [--reimport]

Generates a valid full-extract CSV (never committed), imports it with a real
``contactpoint import`` child process, and prints one JSON line per backend.
``--reimport`` then imports a second full extract of the same records with 5.6 % changed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from contactpoint.ingest.bench import run_import_benchmark


def _ensure_pg_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite", type=Path, default=Path("var/bench-import.sqlite3"))
    parser.add_argument("--postgres", default="")
    parser.add_argument("--reimport", action="store_true",
                        help="also time a second full extract with 5.6 %% of records changed")
    args = parser.parse_args()
    args.sqlite.parent.mkdir(parents=True, exist_ok=True)
    sqlite_url = f"sqlite:///{args.sqlite.resolve()}"
    print(json.dumps(run_import_benchmark(args.rows, sqlite_url, reimport=args.reimport)))
    if args.postgres:
        _ensure_pg_database(args.postgres)
        print(json.dumps(run_import_benchmark(args.rows, args.postgres, reimport=args.reimport)))


if __name__ == "__main__":
    main()
