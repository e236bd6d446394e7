"""``export links`` and ``evaluate``: the index's answer, and its accuracy against a truth file."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl
from sqlalchemy import BindParameter, Connection, bindparam, text

from contactpoint.domain.csv_safety import safe_row
from contactpoint.linking import store
from contactpoint.linking.sensitive import sensitive_sources
from contactpoint.matching.metrics import Metrics, pairwise_metrics

LINKS_HEADER = ("source", "source_record_id", "child_id")
_LINKED = (
    "FROM source_record s JOIN record_link l ON l.record_key = s.id "
    "JOIN child c ON c.id = l.child_key WHERE s.record_status = 'active'"
)
_LINKS_SQL = f"SELECT s.source_code, s.source_record_id, c.child_id {_LINKED} ORDER BY s.id"
# Records of sources flagged sensitive are left out (linking/sensitive.py).
_PUBLIC_LINKS_SQL = (
    f"SELECT s.source_code, s.source_record_id, c.child_id {_LINKED} "
    "AND s.source_code NOT IN :codes ORDER BY s.id"
)
_SENSITIVE_COUNT_SQL = f"SELECT COUNT(*) {_LINKED} AND s.source_code IN :codes"


@dataclass(frozen=True)
class LinksWritten:
    rows: int
    withheld: int  # linked active records of sensitive sources left out (0 when included)
    sensitive: int  # such records written (include_sensitive)


def write_links(conn: Connection, out: IO[str], *,
                include_sensitive: bool = False) -> LinksWritten:
    """Write ``source,source_record_id,child_id`` for every linked active source record;
    the records of sensitive-service sources only when ``include_sensitive``."""
    codes = sorted(sensitive_sources(conn))
    sensitive = 0
    stmt = text(_LINKS_SQL)
    if codes:
        in_codes: BindParameter[list[str]] = bindparam("codes", codes, expanding=True)
        sensitive = int(conn.execute(
            text(_SENSITIVE_COUNT_SQL).bindparams(in_codes)).scalar_one())
        if not include_sensitive:
            stmt = text(_PUBLIC_LINKS_SQL).bindparams(in_codes)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LINKS_HEADER)
    count = 0
    for row in conn.execute(stmt).yield_per(50_000):
        writer.writerow(safe_row(row))  # a source's ids may start with "=" (formula)
        count += 1
    if include_sensitive:
        return LinksWritten(count, 0, sensitive)
    return LinksWritten(count, sensitive, 0)


def unlinked_count(conn: Connection) -> int:
    return int(conn.execute(text(
        "SELECT COUNT(*) FROM source_record s WHERE s.record_status = 'active' "
        "AND NOT EXISTS (SELECT 1 FROM record_link l WHERE l.record_key = s.id)"
    )).scalar_one())


def links_frame(conn: Connection) -> pl.DataFrame:
    """Every linked active record, sensitive sources included: for ``evaluate``, which prints
    only figures."""
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
