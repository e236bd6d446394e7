"""``export links`` and ``evaluate``: the index's answer, and its accuracy against a truth file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

import polars as pl
from sqlalchemy import Connection, text

from contactpoint.domain.csv_safety import safe_row
from contactpoint.linkage import store
from contactpoint.linkage.metrics import Metrics, pairwise_metrics

LINKS_HEADER = ("source", "source_record_id", "child_id")
_LINKS_SQL = (
    "SELECT s.source_code, s.source_record_id, c.child_id FROM source_record s "
    "JOIN record_link l ON l.record_key = s.id JOIN child c ON c.id = l.child_key "
    "WHERE s.record_status = 'active' ORDER BY s.id"
)


def write_links(conn: Connection, out: IO[str]) -> int:
    """Write ``source,source_record_id,child_id`` for every linked active source record."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LINKS_HEADER)
    count = 0
    for row in conn.execute(text(_LINKS_SQL)).yield_per(50_000):
        writer.writerow(safe_row(row))  # a source's ids may start with '=' (formula)
        count += 1
    return count


def unlinked_count(conn: Connection) -> int:
    return int(conn.execute(text(
        "SELECT COUNT(*) FROM source_record s WHERE s.record_status = 'active' "
        "AND NOT EXISTS (SELECT 1 FROM record_link l WHERE l.record_key = s.id)"
    )).scalar_one())


def links_frame(conn: Connection) -> pl.DataFrame:
    return store.query_frame(conn, _LINKS_SQL, {"source": pl.Utf8(),
                                                "source_record_id": pl.Utf8(),
                                                "child_id": pl.Utf8()})


def evaluate(conn: Connection, truth_path: Path) -> Metrics:
    """Pairwise precision/recall/F1 of the current links against a truth CSV
    ``source,source_record_id,person_id``."""
    truth = pl.read_csv(truth_path, infer_schema=False)
    missing = {"source", "source_record_id", "person_id"} - set(truth.columns)
    if missing:
        from contactpoint.errors import ValidationFailed

        raise ValidationFailed(f"truth file lacks columns: {sorted(missing)}")
    key = pl.col("source") + pl.lit("\x1f") + pl.col("source_record_id")
    t = truth.select(key.alias("record"), pl.col("person_id"))
    p = links_frame(conn).select(key.alias("record"), pl.col("child_id"))
    return pairwise_metrics(p, t)
