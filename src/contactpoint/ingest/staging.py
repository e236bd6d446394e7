"""Bulk staging and the set-based upsert into ``source_record``.

PostgreSQL: one ``COPY`` per file (psycopg ``cursor.copy``, text format) into a temporary
table; SQLite: ``executemany`` into one. Batches are encoded on the reading thread
(:meth:`Stager.encode`) and written on the caller's. Then a handful of set-based statements
apply the whole file: duplicates within the file, change counts, an ``UPDATE`` for changed and
for re-sent records, an ``INSERT`` for new keys, deletes and (for a full extract) the
retirement of records missing from it. All of it runs in the caller's transaction.

**Direct mode** (the source holds no records yet: a first load): rows go straight into
``source_record`` (PostgreSQL ``COPY``, SQLite ``executemany``), with no staging table and no
upsert; the unique key catches a duplicate within the file, and the caller then re-runs the
file in staging mode (:class:`DirectConflict`), which reports duplicates as rejects. A file
with ``record_status=deleted`` rows also falls back (a delete never lands in direct mode).

A record joins ``link_queue`` when it is new, or its content or status changed; an unchanged
re-sent record stays as it was (queued or not). ``record_link`` is never written here.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import psycopg.errors
from sqlalchemy import BindParameter, Connection, bindparam, text
from sqlalchemy.exc import IntegrityError

from contactpoint.db.base import UTCDateTime
from contactpoint.ingest.columns import ROW, STAGE_COLUMNS

STAGE = "ingest_stage"
ANALYZE_AFTER_ROWS = 50_000  # a bulk change worth new planner statistics
SQLITE_CACHE_KIB = 128 * 1024
_DATA_COLUMNS = list(STAGE_COLUMNS)
_INSERT_COLUMNS = [c for c in STAGE_COLUMNS if c != "record_status"]
_DIRECT_COLUMNS = ["source_code", "record_status", *_INSERT_COLUMNS, "first_extract_id",
                   "extract_id", "updated_at"]
_DIRECT_CONSTANTS = _DIRECT_COLUMNS[-3:]


# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_SPECIAL = r"[\\\t\n\r]"
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def copy_text(frame: pl.DataFrame) -> memoryview:
    """``frame`` in PostgreSQL's ``COPY`` text format (tab-separated, ``\\N`` for null).

    The server parses it ~17 % faster than CSV, and polars writes it faster. Only the columns
    of this batch that hold a character to escape pay for the escaping.
    """
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    found = frame.select(pl.col(texts).str.contains(_COPY_SPECIAL).any()).row(0)
    special = [name for name, hit in zip(texts, found, strict=True) if hit]
    if special:
        frame = frame.with_columns(
            pl.col(special).str.replace_many(list(_COPY_ESCAPES), list(_COPY_ESCAPES.values()))
        )
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, separator="\t", quote_style="never",
                    null_value="\\N")
    return buffer.getbuffer()


def _sql_literal(value: object) -> str:
    if isinstance(value, bool | int):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


class DirectConflict(Exception):
    """Direct mode cannot take this file (a duplicate key or a delete): re-run it staged."""


def _first_load_only(frame: pl.DataFrame) -> None:
    if frame.get_column("record_status").ne("active").any():
        raise DirectConflict("a delete in a first load")


@dataclass(frozen=True)
class Batch:
    """One validated batch, encoded for the database (:meth:`Stager.encode`)."""

    rows: int
    payload: memoryview | pl.DataFrame  # COPY text, or the columns SQLite inserts


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
        self.direct = False
        self._direct_values: dict[str, Any] = {}
        self._last_key_before = 0

    # --- direct mode (first load of a source) -------------------------------------------
    def try_direct(self, source_code: str, extract_id: int, now: datetime) -> bool:
        """Switch to direct mode when ``source_code`` has no records at all."""
        exists = self.conn.execute(  # in key order: by the unique index, never a scan that
            # wades through other sources' rows (0.35 s at 1 M children, when it was planned so)
            text("SELECT 1 FROM source_record WHERE source_code = :src"
                 " ORDER BY source_code, source_record_id LIMIT 1"),
            {"src": source_code},
        ).first()
        if exists is not None:
            return False
        # every row this file adds gets a key above this one (one sequence, or SQLite's rowid)
        self._last_key_before = int(self.conn.execute(
            text("SELECT COALESCE(MAX(id), 0) FROM source_record")).scalar_one())
        dialect = self.conn.dialect
        stamp: Any = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        self.direct = True
        self._direct_values = {
            "source_code": source_code, "first_extract_id": extract_id,
            "extract_id": extract_id,
            "updated_at": now.isoformat() if self.postgres else (stamp(now) if stamp else now),
        }
        if not self.postgres:
            self._sqlite_import_pragmas()
        return True

    def _direct_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A first-load batch with the per-file constants as literal columns (PostgreSQL)."""
        values = self._direct_values
        return frame.select(
            pl.lit(values["source_code"]).alias("source_code"),
            pl.lit("active").alias("record_status"),
            *_INSERT_COLUMNS,
            *[pl.lit(values[c]).alias(c) for c in _DIRECT_CONSTANTS],
        )

    def _direct_insert(self) -> str:
        """SQLite's first-load INSERT: the per-file constants are SQL literals, so each row
        binds only its own values (every bound value is a Python object made per row)."""
        values = self._direct_values
        constants = [_sql_literal(values["source_code"]), "'active'",
                     *[_sql_literal(values[c]) for c in _DIRECT_CONSTANTS]]
        marks = ", ".join([*constants[:2], *"?" * len(_INSERT_COLUMNS), *constants[2:]])
        return f"INSERT INTO source_record ({', '.join(_DIRECT_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constant names, quoted literals  # nosec B608

    def encode(self, frame: pl.DataFrame) -> Batch:
        """A validated batch as the database takes it. Runs on the reading thread: on
        PostgreSQL the ``COPY`` text is made there, so the writing thread only sends it; on
        SQLite only the columns are picked (row tuples made there measured slower: both
        threads then hold the GIL for Python objects)."""
        if self.direct:
            _first_load_only(frame)
        if self.postgres:
            out = self._direct_frame(frame) if self.direct else frame.select(ROW, *_DATA_COLUMNS)
            return Batch(frame.height, copy_text(out))
        return Batch(frame.height, frame.select(
            _INSERT_COLUMNS if self.direct else [ROW, *_DATA_COLUMNS]))

    def _copy(self, batches: Iterable[Batch]) -> None:
        """PostgreSQL: every batch of the file through one ``COPY``, so the server parses one
        batch while the next is read and validated."""
        if self.direct:
            statement = f"COPY source_record ({', '.join(_DIRECT_COLUMNS)}) FROM STDIN"
        else:
            statement = f"COPY {STAGE} (row_no, {', '.join(_DATA_COLUMNS)}) FROM STDIN"
        dbapi: Any = self.conn.connection.driver_connection
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for batch in batches:
                copy.write(batch.payload)
                self.staged += batch.rows

    def _insert(self, batches: Iterable[Batch]) -> None:
        """SQLite: ``executemany`` per batch."""
        if self.direct:
            statement = self._direct_insert()
        else:
            marks = ", ".join("?" * (len(_DATA_COLUMNS) + 1))
            statement = f"INSERT INTO {STAGE} VALUES ({marks})"  # noqa: S608 - constant table name  # nosec B608
        dbapi: Any = self.conn.connection.driver_connection
        cursor = dbapi.cursor()
        try:
            for batch in batches:
                assert isinstance(batch.payload, pl.DataFrame)
                # Column lists zipped into tuples: far cheaper than DataFrame.iter_rows().
                columns = (s.to_list() for s in batch.payload.iter_columns())
                cursor.executemany(statement, zip(*columns, strict=True))
                self.staged += batch.rows
        finally:
            cursor.close()

    def _sqlite_import_pragmas(self) -> None:
        """Settings for this connection only (it is closed after the file, never pooled)."""
        # A bigger page cache: index pages of a large source_record stay in memory.
        self.conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        self.conn.exec_driver_sql(f"PRAGMA temp.cache_size = -{SQLITE_CACHE_KIB // 2}")

    # --- staging ------------------------------------------------------------------------
    def create(self) -> None:
        if self.direct:
            return
        cols = ", ".join(f"{c} TEXT" for c in _DATA_COLUMNS)
        if self.postgres:
            self.conn.exec_driver_sql(
                f"CREATE TEMP TABLE {STAGE} (row_no BIGINT, {cols}) ON COMMIT DROP"
            )
        else:
            self._sqlite_import_pragmas()
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE} (row_no INTEGER, {cols})")

    def load(self, batches: Iterable[Batch]) -> None:
        """Write every encoded batch of the file (direct: into ``source_record``)."""
        try:
            if self.postgres:
                self._copy(batches)
            else:
                self._insert(batches)
        except (psycopg.errors.UniqueViolation, sqlite3.IntegrityError, IntegrityError):
            if not self.direct:
                raise
            raise DirectConflict("duplicate key") from None

    def index(self) -> None:
        if self.direct:
            return
        self.conn.exec_driver_sql(f"CREATE INDEX ix_{STAGE}_key ON {STAGE} (source_record_id)")
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {STAGE}")

    def remove_duplicates(self) -> list[tuple[int, str, int]]:
        """Drop second and later rows with the same key: [(row, key, first_row)]."""
        if self.direct:
            return []  # the unique key already refused any duplicate (DirectConflict)
        rows = self.conn.exec_driver_sql(
            f"SELECT s.row_no, s.source_record_id, f.first_row FROM {STAGE} s JOIN ("  # noqa: S608 - constant table name  # nosec B608
            f" SELECT source_record_id, MIN(row_no) AS first_row FROM {STAGE}"
            f" GROUP BY source_record_id HAVING COUNT(*) > 1) f"
            f" ON f.source_record_id = s.source_record_id WHERE s.row_no > f.first_row"
            f" ORDER BY s.row_no"
        ).all()
        if rows:
            self.conn.exec_driver_sql(
                f"DELETE FROM {STAGE} WHERE row_no IN (SELECT s.row_no FROM {STAGE} s JOIN ("  # noqa: S608 - constant table name  # nosec B608
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

    def refresh_statistics(self, rows_written: int) -> None:
        """After a bulk change, refresh PostgreSQL's planner statistics in this transaction.

        Without it, the next delta's diff is planned from pre-load statistics (a source of
        millions estimated at thousands of rows) and scans the whole source instead of looking
        up its few thousand keys: 0.7 s instead of 0.03 s per statement at 1 M children.
        """
        if self.postgres and rows_written >= ANALYZE_AFTER_ROWS:
            self.conn.exec_driver_sql("ANALYZE source_record")
            self.conn.exec_driver_sql("ANALYZE link_queue")

    def apply(self, source_code: str, extract_id: int, now: datetime, *, full: bool) -> Applied:
        if self.direct:  # every row is new; the source had no records to retire or delete
            # a key range read from the primary key, not a scan of every source's records
            # (10 s per million rows on PostgreSQL), and new keys: no queue row holds them yet
            queued = self.conn.execute(
                text("INSERT INTO link_queue (record_key) SELECT id FROM source_record"
                     " WHERE id > :after AND source_code = :src"),
                {"after": self._last_key_before, "src": source_code},
            ).rowcount
            if queued != self.staged:  # keys not above the range (rows with explicit ids)
                self._queue("SELECT id FROM source_record WHERE source_code = :src",
                            {"src": source_code})
            return Applied(new=self.staged, changed=0, unchanged=0, deleted=0,
                           unknown_deletes=0, retired=0)
        params = {"src": source_code, "eid": extract_id, "now": now}
        now_param = bindparam("now", type_=UTCDateTime())
        counts = self.conn.execute(
            text(
                "SELECT"  # noqa: S608 - constant table name  # nosec B608
                " SUM(CASE WHEN s.record_status = 'active' AND r.id IS NULL THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN r.id IS NOT NULL AND (r.content_hash <> s.content_hash"
                "  OR r.record_status <> s.record_status) AND s.record_status = 'active'"
                "  THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'deleted' AND r.id IS NOT NULL"
                "  AND r.record_status <> 'deleted' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'deleted' AND r.id IS NULL THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'active' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN s.record_status = 'deleted' AND r.id IS NOT NULL THEN 1 ELSE 0 END)"
                f" FROM {STAGE} s LEFT JOIN source_record r"
                " ON r.source_code = :src AND r.source_record_id = s.source_record_id"
            ),
            {"src": source_code},
        ).one()
        new, changed, deleted, unknown_deletes, active, known_deletes = (
            int(v or 0) for v in counts
        )
        unchanged = active - new - changed
        key_match = (
            "source_record.source_code = :src"
            " AND source_record.source_record_id = s.source_record_id"
            " AND s.record_status = 'active'"
        )
        differs = (
            "(source_record.content_hash <> s.content_hash"
            " OR source_record.record_status <> 'active')"
        )
        # changed records first: that join still sees a table without the dead row versions
        # the (much larger) provenance-only UPDATE below leaves behind; that one then skips
        # the rows already given this extract
        if changed:
            sets = ", ".join(
                f"{c} = {self._cast(c)}" for c in _INSERT_COLUMNS if c != "source_record_id"
            )
            self.conn.execute(
                text(
                    f"UPDATE source_record SET {sets}, record_status = 'active',"  # noqa: S608 - constant table name  # nosec B608
                    " updated_at = :now, extract_id = :eid"
                    f" FROM {STAGE} s WHERE {key_match} AND {differs}"
                ).bindparams(now_param),
                params,
            )
        if unchanged:  # the same content re-sent: only the provenance moves on
            self.conn.execute(
                text(
                    f"UPDATE source_record SET extract_id = :eid FROM {STAGE} s"  # noqa: S608 - constant table name  # nosec B608
                    f" WHERE {key_match} AND NOT {differs}"
                    " AND source_record.extract_id <> :eid"
                ),
                params,
            )
        if new:
            insert_cols = ", ".join(["source_code", "record_status", *_INSERT_COLUMNS])
            select_cols = ", ".join(
                [":code", "'active'", *[self._cast(c) for c in _INSERT_COLUMNS]]
            )
            self.conn.execute(
                text(
                    f"INSERT INTO source_record ({insert_cols}, first_extract_id, extract_id,"  # noqa: S608 - constant table name  # nosec B608
                    " updated_at)"
                    f" SELECT {select_cols}, :eid, :eid, :now FROM {STAGE} s"
                    " WHERE s.record_status = 'active' AND NOT EXISTS (SELECT 1 FROM"
                    " source_record r WHERE r.source_code = :src"
                    " AND r.source_record_id = s.source_record_id)"
                ).bindparams(now_param),
                {**params, "code": source_code},
            )
        if known_deletes:
            self.conn.execute(
                text(
                    "UPDATE source_record SET"  # noqa: S608 - constant table name  # nosec B608
                    " updated_at = CASE WHEN record_status <> 'deleted' THEN :now"
                    " ELSE updated_at END,"
                    " record_status = 'deleted', extract_id = :eid"
                    " WHERE source_code = :src AND source_record_id IN"
                    f" (SELECT source_record_id FROM {STAGE} WHERE record_status = 'deleted')"
                ).bindparams(now_param),
                params,
            )
        # every record this file made new or changed (content or status) has this stamp
        self._queue(
            f"SELECT r.id FROM {STAGE} s JOIN source_record r ON r.source_code = :src"  # noqa: S608 - constant table name  # nosec B608
            " AND r.source_record_id = s.source_record_id"
            " WHERE r.updated_at = :now AND r.extract_id = :eid",
            params, now_param,
        )
        retired = 0
        # after the upsert and deletes every active row of the file is an active record: any
        # other active record of the source is missing from this full extract
        if full and self._active_count(source_code) > active:
            result = self.conn.execute(
                text(
                    "UPDATE source_record SET record_status = 'retired',"  # noqa: S608 - constant table name  # nosec B608
                    " updated_at = :now, extract_id = :eid"
                    " WHERE source_code = :src AND record_status = 'active' AND NOT EXISTS"
                    f" (SELECT 1 FROM {STAGE} s"
                    " WHERE s.source_record_id = source_record.source_record_id)"
                ).bindparams(now_param),
                params,
            )
            retired = int(result.rowcount)
            self._queue(
                "SELECT id FROM source_record WHERE source_code = :src"
                " AND record_status = 'retired' AND updated_at = :now AND extract_id = :eid",
                params, now_param,
            )
        return Applied(
            new=new, changed=changed, unchanged=unchanged, deleted=deleted,
            unknown_deletes=unknown_deletes, retired=retired,
        )

    def _queue(self, select: str, params: dict[str, Any], *binds: BindParameter[Any]) -> None:
        """Put the records ``select`` names (one ``record_key`` column) on ``link_queue``."""
        verb = "INSERT INTO" if self.postgres else "INSERT OR IGNORE INTO"
        conflict = " ON CONFLICT DO NOTHING" if self.postgres else ""
        self.conn.execute(
            text(f"{verb} link_queue (record_key) {select}{conflict}").bindparams(*binds),
            params,
        )

    def _active_count(self, source_code: str) -> int:
        """Active records of the source now."""
        value = self.conn.execute(
            text("SELECT COUNT(*) FROM source_record WHERE source_code = :src"
                 " AND record_status = 'active'"),
            {"src": source_code},
        ).scalar()
        return int(value or 0)

    def release(self) -> None:
        """After commit or rollback: PostgreSQL dropped the table at commit; on SQLite,
        dropping a large temporary table row by row is slow, so the connection is closed
        instead (its temporary file goes with it)."""
        if not self.postgres:
            self.conn.invalidate()
