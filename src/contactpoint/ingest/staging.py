"""Bulk staging and the set-based upsert into ``source_record``.

PostgreSQL: ``COPY`` (psycopg ``cursor.copy``) into a temporary table; SQLite: ``executemany``
into one. Then a handful of set-based statements apply the whole file: duplicates within the
file, change counts, ``INSERT … ON CONFLICT DO UPDATE``, deletes and (for a full extract) the
retirement of records missing from it. All of it runs in the caller's transaction.

``link_pending`` becomes true when a record is new, or its content or status changed; an
unchanged re-sent record keeps the value it had. ``child_id`` is never written here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, text

from contactpoint.db.base import UTCDateTime
from contactpoint.ingest.columns import ROW, STAGE_COLUMNS

STAGE = "ingest_stage"
SQLITE_CACHE_KIB = 128 * 1024
_DATA_COLUMNS = list(STAGE_COLUMNS)
_INSERT_COLUMNS = [c for c in STAGE_COLUMNS if c != "record_status"]


@dataclass(frozen=True)
class Applied:
    new: int
    changed: int
    unchanged: int
    deleted: int
    unknown_deletes: int
    retired: int


class Stager:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.staged = 0

    # --- staging ------------------------------------------------------------------------
    def create(self) -> None:
        cols = ", ".join(f"{c} TEXT" for c in _DATA_COLUMNS)
        if self.postgres:
            self.conn.exec_driver_sql(
                f"CREATE TEMP TABLE {STAGE} (row_no BIGINT, {cols}) ON COMMIT DROP"
            )
        else:
            # A bigger page cache for this connection only (it is closed after the file):
            # index pages of a large source_record stay in memory during the upsert.
            self.conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            self.conn.exec_driver_sql(f"PRAGMA temp.cache_size = -{SQLITE_CACHE_KIB // 2}")
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE} (row_no INTEGER, {cols})")

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        frame = frame.select(ROW, *_DATA_COLUMNS)
        if self.postgres:
            buffer = io.BytesIO()
            frame.write_csv(buffer, include_header=False)
            dbapi: Any = self.conn.connection.driver_connection
            with dbapi.cursor() as cursor, cursor.copy(
                f"COPY {STAGE} (row_no, {', '.join(_DATA_COLUMNS)}) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write(buffer.getbuffer())
        else:
            marks = ", ".join("?" * (len(_DATA_COLUMNS) + 1))
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(f"INSERT INTO {STAGE} VALUES ({marks})", frame.iter_rows())  # noqa: S608 - constant table name
            cursor.close()
        self.staged += frame.height

    def index(self) -> None:
        self.conn.exec_driver_sql(f"CREATE INDEX ix_{STAGE}_key ON {STAGE} (source_record_id)")
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {STAGE}")

    def remove_duplicates(self) -> list[tuple[int, str, int]]:
        """Drop second and later rows with the same key: [(row, key, first_row)]."""
        rows = self.conn.exec_driver_sql(
            f"SELECT s.row_no, s.source_record_id, f.first_row FROM {STAGE} s JOIN ("  # noqa: S608 - constant table name
            f" SELECT source_record_id, MIN(row_no) AS first_row FROM {STAGE}"
            f" GROUP BY source_record_id HAVING COUNT(*) > 1) f"
            f" ON f.source_record_id = s.source_record_id WHERE s.row_no > f.first_row"
            f" ORDER BY s.row_no"
        ).all()
        if rows:
            self.conn.exec_driver_sql(
                f"DELETE FROM {STAGE} WHERE row_no IN (SELECT s.row_no FROM {STAGE} s JOIN ("  # noqa: S608 - constant table name
                f" SELECT source_record_id, MIN(row_no) AS first_row FROM {STAGE}"
                f" GROUP BY source_record_id HAVING COUNT(*) > 1) f"
                f" ON f.source_record_id = s.source_record_id WHERE s.row_no > f.first_row)"
            )
            self.staged -= len(rows)
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    # --- applying -----------------------------------------------------------------------
    def _cast(self, column: str) -> str:
        if not self.postgres:
            return f"s.{column}"
        if column == "date_of_birth":
            return "s.date_of_birth::date"
        if column in ("carers", "involvements"):
            return f"s.{column}::json"
        return f"s.{column}"

    def apply(self, source_code: str, extract_id: int, now: datetime, *, full: bool) -> Applied:
        params = {"src": source_code, "eid": extract_id, "now": now}
        now_param = bindparam("now", type_=UTCDateTime())
        counts = self.conn.execute(
            text(
                "SELECT"  # noqa: S608 - constant table name
                " SUM(CASE WHEN s.record_status = 'active' AND r.id IS NULL THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN r.id IS NOT NULL AND (r.content_hash <> s.content_hash"
                "  OR r.record_status <> s.record_status) AND s.record_status = 'active'"
                "  THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'deleted' AND r.id IS NOT NULL"
                "  AND r.record_status <> 'deleted' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'deleted' AND r.id IS NULL THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'active' THEN 1 ELSE 0 END)"
                f" FROM {STAGE} s LEFT JOIN source_record r"
                " ON r.source_code = :src AND r.source_record_id = s.source_record_id"
            ),
            {"src": source_code},
        ).one()
        new, changed, deleted, unknown_deletes, active = (int(v or 0) for v in counts)
        changed_expr = (
            "(source_record.content_hash <> excluded.content_hash"
            " OR source_record.record_status <> excluded.record_status)"
        )
        insert_cols = ", ".join(["source_code", "record_status", *_INSERT_COLUMNS])
        select_cols = ", ".join(
            [":src", "'active'", *[self._cast(c) for c in _INSERT_COLUMNS]]
        )
        updates = ", ".join(
            f"{c} = excluded.{c}" for c in ("record_status", *_INSERT_COLUMNS)
            if c not in ("source_record_id",)
        )
        self.conn.execute(
            text(
                f"INSERT INTO source_record ({insert_cols}, first_extract_id, extract_id,"  # noqa: S608 - constant table name
                " link_pending, updated_at)"
                f" SELECT {select_cols}, :eid, :eid, TRUE, :now FROM {STAGE} s"
                " WHERE s.record_status = 'active'"
                " ON CONFLICT (source_code, source_record_id) DO UPDATE SET"
                f" link_pending = CASE WHEN {changed_expr} THEN TRUE"
                " ELSE source_record.link_pending END,"
                f" updated_at = CASE WHEN {changed_expr} THEN excluded.updated_at"
                " ELSE source_record.updated_at END,"
                f" {updates}, extract_id = excluded.extract_id"
            ).bindparams(now_param),
            params,
        )
        self.conn.execute(
            text(
                "UPDATE source_record SET"  # noqa: S608 - constant table name
                " link_pending = CASE WHEN record_status <> 'deleted' THEN TRUE"
                " ELSE link_pending END,"
                " updated_at = CASE WHEN record_status <> 'deleted' THEN :now"
                " ELSE updated_at END,"
                " record_status = 'deleted', extract_id = :eid"
                " WHERE source_code = :src AND source_record_id IN"
                f" (SELECT source_record_id FROM {STAGE} WHERE record_status = 'deleted')"
            ).bindparams(now_param),
            params,
        )
        retired = 0
        if full:
            result = self.conn.execute(
                text(
                    "UPDATE source_record SET record_status = 'retired', link_pending = TRUE,"  # noqa: S608 - constant table name
                    " updated_at = :now, extract_id = :eid"
                    " WHERE source_code = :src AND record_status = 'active' AND NOT EXISTS"
                    f" (SELECT 1 FROM {STAGE} s"
                    " WHERE s.source_record_id = source_record.source_record_id)"
                ).bindparams(now_param),
                params,
            )
            retired = int(result.rowcount)
        return Applied(
            new=new, changed=changed, unchanged=active - new - changed, deleted=deleted,
            unknown_deletes=unknown_deletes, retired=retired,
        )

    def release(self) -> None:
        """After commit or rollback: PostgreSQL dropped the table at commit; on SQLite,
        dropping a large temporary table row by row is slow, so the connection is closed
        instead (its temporary file goes with it)."""
        if not self.postgres:
            self.conn.invalidate()
