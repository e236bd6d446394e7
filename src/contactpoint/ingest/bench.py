"""CSV import benchmark: rows/s and peak RSS of a real ``contactpoint import`` process.

The feed is generated here (vectorised, in chunks, bounded memory) with valid NHS numbers and
UPNs, so every row lands; the import runs as a child process so that its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from contactpoint.db import migrate
from contactpoint.domain.identifiers import nhs_check_digit, upn_check_letter
from contactpoint.ingest.columns import CSV_COLUMNS

_GIVEN = ["Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Freya",
          "Arthur", "Sophia", "Muhammad", "Grace", "Harry", "Lily", "Jack", "Ella", "Oscar"]
_FAMILY = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans",
           "Thomas", "Khan", "Patel", "Roberts", "Walker", "Wright", "Hall", "Green"]
_TOWNS = ["Leeds", "Bradford", "Wakefield", "Harrogate", "York"]


def _pools(size: int = 4096) -> tuple[list[str], list[str]]:
    nhs: list[str] = []
    i = 0
    while len(nhs) < size:
        nine = f"{(400_000_000 + i * 7919) % 1_000_000_000:09d}"
        check = nhs_check_digit(nine)
        if check is not None:
            nhs.append(nine + str(check))
        i += 1
    upns = []
    for j in range(size):
        body = f"{801_200_000_000 + j * 37:012d}"
        upns.append(upn_check_letter(body) + body)
    return nhs, upns


def generate_csv(
    path: Path, rows: int, source: str, chunk: int = 200_000, prefix: str = "R",
    change_every: int = 0,
) -> Path:
    """A full extract of ``rows`` valid records, written in chunks.

    ``change_every=N``: the same records with every N-th one's given name changed (a later
    full extract of the same source, for re-import figures).
    """
    nhs, upns = _pools()
    base = date(2009, 1, 1)
    with path.open("wb") as out:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            idx = pl.int_range(start, start + n, eager=True)
            given = pl.col("i").mod(len(_GIVEN)).replace_strict(dict(enumerate(_GIVEN)))
            if change_every:
                given = pl.when(pl.col("i").mod(change_every) == 0).then(given + "e").otherwise(
                    given)
            frame = pl.DataFrame({"i": idx}).select(
                (pl.lit(prefix) + pl.col("i").cast(pl.String).str.zfill(9))
                .alias("source_record_id"),
                pl.lit("active").alias("record_status"),
                given.alias("given_name"),
                pl.lit(None, pl.String).alias("middle_names"),
                (pl.col("i") // 7).mod(len(_FAMILY)).replace_strict(dict(enumerate(_FAMILY)))
                .alias("family_name"),
                pl.lit(None, pl.String).alias("former_family_name"),
                pl.lit(None, pl.String).alias("preferred_name"),
                (pl.lit(base) + pl.duration(days=(pl.col("i") * 13).mod(6000)))
                .dt.strftime("%Y-%m-%d").alias("date_of_birth"),
                pl.when(pl.col("i").mod(2) == 0).then(pl.lit("F")).otherwise(pl.lit("M"))
                .alias("sex"),
                (pl.col("i").mod(300).cast(pl.String) + pl.lit(" Station Road"))
                .alias("address_line_1"),
                pl.lit(None, pl.String).alias("address_line_2"),
                pl.lit(None, pl.String).alias("address_line_3"),
                pl.col("i").mod(len(_TOWNS)).replace_strict(dict(enumerate(_TOWNS))).alias("town"),
                (pl.lit("LS") + pl.col("i").mod(27).cast(pl.String) + pl.lit(" ")
                 + pl.col("i").mod(10).cast(pl.String) + pl.lit("AB")).alias("postcode"),
                pl.col("i").mod(len(nhs)).replace_strict(dict(enumerate(nhs))).alias("nhs_number"),
                pl.col("i").mod(len(upns)).replace_strict(dict(enumerate(upns))).alias("upn"),
                (pl.lit("Parent ") + pl.col("i").cast(pl.String)).alias("parent_1_name"),
                pl.lit("mother").alias("parent_1_relationship"),
                pl.lit("0113 496 0000").alias("parent_1_phone"),
                pl.lit("Y").alias("parent_1_parental_responsibility"),
                pl.lit("education").alias("service_type"),
                pl.lit("107000").alias("service_org_code"),
                pl.lit("Station Road Primary").alias("service_org_name"),
                pl.lit("2020-09-01").alias("service_start"),
            )
            for name in CSV_COLUMNS:
                if name not in frame.columns:
                    frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
            frame.select(CSV_COLUMNS).write_csv(out, include_header=start == 0)
    manifest = {"source": source, "extract_date": date.today().isoformat(),  # noqa: DTZ011
                "extract_type": "full"}
    path.with_name(path.name + ".manifest.json").write_text(json.dumps(manifest))
    return path


def run_import_benchmark(
    rows: int, database_url: str, *, reimport: bool = False
) -> dict[str, Any]:
    """Generate a ``rows``-row CSV feed, import it into ``database_url``, report the figures.

    ``reimport``: then import a second full extract of the same records with 1 in 18
    (5.6 %) changed, and report it under ``"reimport"``.
    """
    migrate.upgrade(database_url)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    source = f"BENCH-{stamp}"
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        feed = generate_csv(directory / f"bench-{rows}.csv", rows, source, prefix=f"R{stamp}-")
        generated = time.perf_counter() - t0
        figures = {
            "backend": database_url.split(":", 1)[0].split("+", 1)[0],
            "rows": rows,
            "file_bytes": feed.stat().st_size,
            "generate_seconds": round(generated, 2),
            **_run_import(feed, database_url, directory / "reports"),
        }
        if reimport:
            second = generate_csv(directory / f"bench-{rows}-2.csv", rows, source,
                                  prefix=f"R{stamp}-", change_every=18)
            figures["reimport"] = _run_import(second, database_url, directory / "reports-2")
        return figures


def _run_import(feed: Path, database_url: str, reports: Path) -> dict[str, Any]:
    """One real ``contactpoint import`` child process: its figures and its own peak RSS."""
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": database_url}
    t1 = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "contactpoint", "import", str(feed),
         "--report-dir", str(reports)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t1
    summary = json.loads((reports / "summary.json").read_text())["files"][0]
    return {
        "status": summary["status"],
        "rows_landed": summary["rows_landed"],
        "new": summary["new"],
        "changed": summary["changed"],
        "unchanged": summary["unchanged"],
        "import_seconds": summary["seconds"],
        "rows_per_second": summary["rows_per_second"],
        "process_seconds": round(wall, 2),
        "child_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": child.returncode,
    }
