"""An import SIGKILLed at any point leaves the state before the file or after it, never
between; re-running then equals an uninterrupted run. Real ``contactpoint import``
subprocesses, on SQLite and PostgreSQL; table contents compared by checksum."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from contactpoint.db import migrate
from contactpoint.db.engine import make_engine
from contactpoint.db.tables import extract, source, source_authority, source_record
from contactpoint.ingest.service import PAUSE_ENV, ImportOptions, import_file

HEADER = ["source_record_id", "given_name", "family_name", "date_of_birth", "sex", "postcode",
          "nhs_number", "parent_1_name", "service_type", "service_org_code"]
ROWS = 6000


def write_feed(path: Path, keys: range, changed: set[int], extract_date: str) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for k in keys:
            name = "Changed" if k in changed else f"Given{k % 97}"
            dob = f"{2008 + k % 15}-0{1 + k % 9}-1{k % 9}"
            writer.writerow([f"K{k:06d}", name, f"Family{k % 89}", dob, "MF"[k % 2],
                             f"LS{k % 20 + 1} {k % 10}AB", "9434765919", f"Parent {k}",
                             "education", "107000"])
    path.with_name(path.name + ".manifest.json").write_text(json.dumps(
        {"source": "DFE-CENSUS", "extract_date": extract_date, "extract_type": "full"}))
    return path


def checksum(engine: Engine) -> str:
    """A digest of every table the importer writes, surrogate ids and clocks left out."""
    with engine.connect() as conn:
        hashes = dict(conn.execute(select(extract.c.id, extract.c.content_hash)).all())
        state: dict[str, Any] = {
            "source": sorted(conn.execute(select(source.c.code, source.c.recognised)).all()),
            "authority": sorted(conn.execute(select(source_authority)).all()),
            "extract": sorted(
                tuple(r) for r in conn.execute(select(
                    extract.c.source_code, extract.c.content_hash, extract.c.format,
                    extract.c.extract_type, extract.c.extract_date, extract.c.rows_read,
                    extract.c.rows_landed, extract.c.rows_rejected, extract.c.rows_retired)).all()
            ),
        }
        records = []
        skip = {"id", "updated_at", "first_extract_id", "extract_id"}
        for row in conn.execute(select(source_record)).mappings():
            item = {k: v for k, v in row.items() if k not in skip}
            item["first"] = hashes[row["first_extract_id"]]
            item["latest"] = hashes[row["extract_id"]]
            records.append(json.dumps(item, sort_keys=True, default=str))
        state["records"] = sorted(records)
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def run_cli(url: str, feed: Path, tmp: Path, pause: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": url, "CONTACTPOINT_VAR_DIR": str(tmp)}
    env.pop(PAUSE_ENV, None)
    if pause:
        env[PAUSE_ENV] = pause
    return subprocess.Popen(
        [sys.executable, "-m", "contactpoint", "import", str(feed)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_pause(proc: subprocess.Popen[str], point: str) -> None:
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        if not line:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"import ended before pausing at {point}: {out}")
        if line.strip() == f"ingest-pause: {point}":
            return


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


# Where the import is stopped (ingest.service._pause): reading, the extract row, the first
# batch in the stage, the stage indexed, duplicates removed, staged, the extract finished,
# applied and audited but not committed. Then blind kills at fixed delays.
PAUSE_POINTS = ("reader", "extract", "batch", "indexed", "deduped", "staged", "finished",
                "applied")
BLIND_DELAYS = (0.2, 0.5, 0.9, 1.3, 1.8)


def audit_verifies(url: str, tmp: Path) -> None:
    """``contactpoint audit verify`` (the real command) exits 0 on the state left behind."""
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": url, "CONTACTPOINT_VAR_DIR": str(tmp)}
    done = subprocess.run(
        [sys.executable, "-m", "contactpoint", "audit", "verify", "--no-record"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit trail OK" in done.stdout


def integrity_ok(engine: Engine) -> None:
    """The database's own consistency check: SQLite ``integrity_check`` and
    ``foreign_key_check``; PostgreSQL ``amcheck`` over every B-tree index of the schema."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            return
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
        checked = conn.exec_driver_sql(
            "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace "
            "AND c.relpersistence = 'p'"
        ).scalar()
        assert (checked or 0) > 5  # the indexes of every table were checked


def test_kill_mid_import_leaves_before_or_after(fresh_db_url: str, tmp_path: Path) -> None:
    base = write_feed(tmp_path / "census_1.csv", range(ROWS), set(), "2026-11-01")
    keys = range(ROWS // 10, ROWS + ROWS // 10)  # some retired, some new
    update = write_feed(tmp_path / "census_2.csv", keys, set(range(0, ROWS, 7)), "2026-11-08")

    # the reference: an uninterrupted run on a scratch database
    ref_url = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    migrate.upgrade(ref_url)
    ref = make_engine(ref_url)
    options = ImportOptions(report_dir=tmp_path / "reports")
    assert import_file(ref, base, options).status == "landed"
    assert import_file(ref, update, options).status == "landed"
    after = checksum(ref)
    ref.dispose()

    engine = make_engine(fresh_db_url)
    kills = 0
    try:
        assert import_file(engine, base, options).status == "landed"
        before = checksum(engine)
        assert before != after
        for point in PAUSE_POINTS:
            proc = run_cli(fresh_db_url, update, tmp_path, pause=point)
            wait_for_pause(proc, point)
            kill(proc)
            kills += 1
            assert checksum(engine) == before, f"killed at {point}: state is in between"
            integrity_ok(engine)
            audit_verifies(fresh_db_url, tmp_path)
        for delay in BLIND_DELAYS:  # blind kills wherever the import happens to be
            proc = run_cli(fresh_db_url, update, tmp_path)
            time.sleep(delay)
            finished = proc.poll() is not None
            kill(proc)
            kills += 1
            state = checksum(engine)
            assert state in (before, after), f"killed after {delay}s: state is in between"
            integrity_ok(engine)
            audit_verifies(fresh_db_url, tmp_path)
            if finished or state == after:
                break
        assert kills >= 10, kills
        rerun = run_cli(fresh_db_url, update, tmp_path)
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, out + err
        assert checksum(engine) == after
        integrity_ok(engine)
        audit_verifies(fresh_db_url, tmp_path)
    finally:
        engine.dispose()
