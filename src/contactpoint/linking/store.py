# ruff: noqa: S608  (SQL here is built from this module's own constant identifiers; values are bound)
"""Database <-> record frames, in bulk.

Reads stream through ``COPY … TO STDOUT`` on PostgreSQL and a plain cursor on SQLite; writes
load a temporary table (``COPY FROM`` / ``executemany``) and then run one set-based statement, so
millions of rows never go through the ORM or one statement per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, Table, bindparam, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from contactpoint.db.base import UTCDateTime
from contactpoint.domain.identifiers import CHILD_ID_LENGTH
from contactpoint.matching.frame import CARER_SEPARATOR, RECORD_SCHEMA, conform

_RECORD_COLUMNS = [c for c in RECORD_SCHEMA if c not in ("record_key", "carer_names")]
_FETCH_BATCH = 50_000


_LINKAGE_LOCK = 7243001


def lock_linkage(conn: Connection) -> None:
    """Serialise everything that moves records between children: link runs, merges, unmerges.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: writers are serialised already.
    """
    if is_postgres(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LINKAGE_LOCK})")


def plan_for_key_lookups(conn: Connection) -> None:
    """For the rest of this transaction (PostgreSQL): an incremental run reads and writes
    thousands of rows by key among millions, and PostgreSQL's default costs (a random page
    four times a sequential one: spinning disks) have it scan whole tables instead: 0.35–0.8 s
    a statement on ``record_link`` and ``source_record`` at 1 M children, against 0.03–0.2 s
    by index. SSD-class storage is assumed (``random_page_cost`` 1.1); JIT compilation (tens
    of milliseconds a statement) never pays back on look-ups this size."""
    if is_postgres(conn):
        conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
        conn.exec_driver_sql("SET LOCAL jit = off")


def refresh_statistics(conn: Connection, rows_written: int) -> None:
    """After a bulk write-back, refresh PostgreSQL's planner statistics (see
    ``ingest.staging.Stager.refresh_statistics``: stale statistics turn key look-ups into scans
    of the whole table)."""
    if is_postgres(conn) and rows_written >= TIDY_AFTER_ROWS:
        for table in _TIDIED:
            conn.exec_driver_sql(f"ANALYZE {table}")


TIDY_AFTER_ROWS = 50_000
_TIDIED = ("record_link", "link_queue", "child", "link_event")


def tidy_after_bulk(engine: Engine, rows_written: int) -> bool:
    """After a committed link run that rewrote many rows, ``VACUUM`` the tables it rewrote
    (PostgreSQL; outside any transaction). A first run takes millions of records off
    ``link_queue``, and its index keeps pointing at the dead rows until a vacuum: the next
    day's "which records are pending" would walk millions of dead entries (1.2 s instead of
    25 ms at 1 M children, when the queue was a column of ``source_record``). Autovacuum does
    this eventually, where it is on; the run does not rely on it. Returns whether it vacuumed."""
    if engine.dialect.name != "postgresql" or rows_written < TIDY_AFTER_ROWS:
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM {', '.join(_TIDIED)}")
    return True


@contextmanager
def sort_memory(conn: Connection, size: str) -> Iterator[None]:
    """PostgreSQL's ``maintenance_work_mem`` (what an index build sorts in) at ``size`` inside
    the block, for this transaction only, then back as it was."""
    if not is_postgres(conn):
        yield
        return
    before = conn.exec_driver_sql("SHOW maintenance_work_mem").scalar_one()
    conn.execute(text("SELECT set_config('maintenance_work_mem', :v, true)"), {"v": size})
    try:
        yield
    finally:
        conn.execute(text("SELECT set_config('maintenance_work_mem', :v, true)"), {"v": before})


@contextmanager
def indexes_built_after(conn: Connection, *tables: Table) -> Iterator[None]:
    """Drop the secondary indexes of ``tables`` for a bulk load inside the block and build
    them again after it (building an index once is several times cheaper than maintaining it
    row by row: a first run's 2.6 M links and events). Only a table's owner may drop its
    indexes: the application role (docs/operations.md) loads with them in place. Primary keys
    and unique constraints stay."""
    indexes = [ix for table in tables if owns(conn, table.name)
               for ix in sorted(table.indexes, key=lambda ix: str(ix.name))]
    for ix in indexes:
        ix.drop(conn)
    yield
    with sort_memory(conn, INDEX_SORT_MEMORY):
        for ix in indexes:
            ix.create(conn)


@contextmanager
def foreign_keys_checked_after(conn: Connection, *tables: Table) -> Iterator[None]:
    """Drop the foreign keys of ``tables`` for a bulk load inside the block and add them again
    after it, which checks every row in one join instead of one look-up (and row lock) of the
    referenced row per inserted row (a first run's 1 M council decisions: ~11 s of checks).
    PostgreSQL only, and only for a table's owner, as :func:`indexes_built_after`; the block
    runs in the caller's transaction, so a failure leaves the constraints as they were."""
    keys = ([fk for table in tables if owns(conn, table.name)
             for fk in sorted(table.foreign_key_constraints, key=lambda fk: str(fk.name))]
            if is_postgres(conn) else [])
    for fk in keys:
        conn.execute(DropConstraint(fk))
    yield
    for fk in keys:
        conn.execute(AddConstraint(fk))


# an index over every record sorts in memory with this (the server's default, 64 MB, spills to
# disk past ~1 M records)
INDEX_SORT_MEMORY = "512MB"


def owns(conn: Connection, table: str) -> bool:
    """Whether the connected role owns ``table`` (always on SQLite)."""
    if not is_postgres(conn):
        return True
    return bool(conn.execute(text(
        "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
        "WHERE tablename = :t AND schemaname = current_schema()"), {"t": table}).scalar())


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# ``s`` a source record, ``l`` its link to a child and ``c`` that child (if linked), ``q`` its
# place on the link queue (if queued). Each join is on a unique key, so a query that uses
# none of a table's columns does not pay for its join (PostgreSQL drops all three; SQLite keeps
# ``l``, a primary-key look-up a row).
RECORD_FROM = (
    "source_record s LEFT JOIN record_link l ON l.record_key = s.id "
    "LEFT JOIN child c ON c.id = l.child_key LEFT JOIN link_queue q ON q.record_key = s.id"
)


def _select_sql(extra: Sequence[str], where: str) -> str:
    cols = ", ".join(f"s.{c}" for c in _RECORD_COLUMNS)
    carers = "CAST(s.carers AS TEXT)"
    more = "".join(f", {e}" for e in extra)
    return (
        # SQL from internal table and column names only (bandit B608 waived)
        f"SELECT s.id AS record_key, {cols}, {carers} AS carers{more} "  # nosec B608
        f"FROM {RECORD_FROM} WHERE {where} ORDER BY s.id"
    )


def _raw_schema(extra: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"record_key": pl.Int64()}
    for c in _RECORD_COLUMNS:
        schema[c] = pl.Utf8()  # dates parsed afterwards: SQLite hands back text
    schema["carers"] = pl.Utf8()
    schema.update(extra)
    return schema


def query_frame(
    conn: Connection, sql: str, schema: dict[str, pl.DataType],
    params: dict[str, Any] | None = None,
    finish: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Run ``sql`` and return its rows as a frame with ``schema`` (column order = select order),
    each part of it passed through ``finish`` (a row-wise step: it may see any part) first."""
    if is_postgres(conn) and not params:
        return _copied_frame(conn, sql, schema, finish)
    result = conn.execute(text(sql), params or {})
    row_schema = {k: (pl.Int64() if v == pl.Boolean() else v) for k, v in schema.items()}
    frames: list[pl.DataFrame] = []
    while True:
        rows = result.fetchmany(_FETCH_BATCH)
        if not rows:
            break
        frames.append(pl.DataFrame([tuple(r) for r in rows], schema=row_schema, orient="row"))
    frame = (pl.concat(frames).cast(schema) if frames  # type: ignore[arg-type]
             else pl.DataFrame(schema=schema))
    return frame if finish is None else finish(frame)


PIECE_BYTES = 64 << 20  # CSV parsed a piece at a time, while the rest is still arriving


def _copied_frame(conn: Connection, sql: str, schema: dict[str, pl.DataType],
                  finish: Callable[[pl.DataFrame], pl.DataFrame] | None) -> pl.DataFrame:
    """``COPY (sql) TO STDOUT`` read into a frame: each piece of whole CSV rows is parsed (and
    finished) on a thread of its own while the server sends the next (a million records'
    rows took as long to parse as to send, one after the other)."""
    text_schema = {k: (pl.Utf8() if v == pl.Boolean() else v) for k, v in schema.items()}
    bools = [k for k, v in schema.items() if v == pl.Boolean()]

    def parse(piece: bytes) -> pl.DataFrame:
        df = pl.read_csv(piece, has_header=False, new_columns=list(schema), schema=text_schema)
        if bools:
            df = df.with_columns(pl.col(b).is_in(["t", "true", "1"]).alias(b) for b in bools)
        return df if finish is None else finish(df)

    parsed: list[Future[pl.DataFrame]] = []
    buf = bytearray()
    raw = conn.connection.driver_connection
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-parse") as parser:
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:  # type: ignore[union-attr]
            for chunk in copy:
                buf += chunk
                if len(buf) >= PIECE_BYTES and (end := whole_rows_end(buf)):
                    parsed.append(parser.submit(parse, bytes(buf[:end])))
                    del buf[:end]
        if buf:
            parsed.append(parser.submit(parse, bytes(buf)))
        frames = [p.result() for p in parsed]
    if not frames:
        empty = pl.DataFrame(schema=schema)
        return empty if finish is None else finish(empty)
    return frames[0] if len(frames) == 1 else pl.concat(frames)


def whole_rows_end(csv: bytes | bytearray) -> int:
    """The length of the longest prefix of ``csv`` (``COPY``'s CSV) that ends a row: just past
    the last line break outside quotes (a quote inside a quoted field is doubled, so the quotes
    before a break are even in number exactly when it is outside); 0 if there is none."""
    end = len(csv)
    while (brk := csv.rfind(b"\n", 0, end)) >= 0:
        if csv.count(b'"', 0, brk) % 2 == 0:
            return brk + 1
        end = brk
    return 0


def _finish_records(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw rows -> record frame columns: dates parsed, carers' names joined, blanks null."""
    carer_type = pl.List(pl.Struct({"name": pl.Utf8()}))
    names = (
        pl.col("carers")
        .str.json_decode(carer_type)
        .list.eval(pl.element().struct.field("name"))
        .list.join(CARER_SEPARATOR)
    )
    return raw.with_columns(
        pl.col("date_of_birth").str.slice(0, 10).str.to_date("%Y-%m-%d"),
        pl.when(names == "").then(None).otherwise(names).alias("carer_names"),
        *[
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
            for c in _RECORD_COLUMNS
            if c != "date_of_birth"
        ],
    ).drop("carers")


def read_records(
    conn: Connection, where: str, extra: dict[str, tuple[str, pl.DataType]] | None = None
) -> pl.DataFrame:
    """Source records matching ``where`` (SQL over :data:`RECORD_FROM`) as a record frame,
    plus ``extra`` columns (name -> (SQL expression, dtype))."""
    extra = extra or {}
    sql = _select_sql([f"{expr} AS {name}" for name, (expr, _) in extra.items()], where)
    df = query_frame(conn, sql, _raw_schema({k: t for k, (_, t) in extra.items()}),
                     finish=_finish_records)
    base = conform(df.drop(list(extra)))
    return base.with_columns(df.select(list(extra))) if extra else base


def read_pending(conn: Connection, *, with_hash: bool = False,
                 more: dict[str, tuple[str, pl.DataType]] | None = None) -> pl.DataFrame:
    """Active records waiting to be linked, with ``current_child_key`` (set when an already
    linked record came back changed), with ``with_hash`` their ``content_hash``, and ``more``
    columns (name -> (SQL expression over :data:`RECORD_FROM`, dtype))."""
    extra: dict[str, tuple[str, pl.DataType]] = {
        "current_child_key": ("l.child_key", pl.Int64()), **(more or {})}
    if with_hash:
        extra["content_hash"] = ("s.content_hash", pl.Utf8())
    return read_records(conn, "q.record_key IS NOT NULL AND s.record_status = 'active'", extra)


def read_existing(conn: Connection) -> pl.DataFrame:
    """The records new ones are matched against: every linked, settled active record of a live
    child, plus every record (even retired or deleted) of a shielded child, so a shielded child
    can always be found again."""
    df = read_records(
        conn,
        EXISTING_WHERE,
        EXISTING_COLUMNS,
    )
    return conform_existing(df)


# A retired or deleted record stays queued (only linking an active record takes it off); it is
# never matched as new, and a shielded child's such records must stay findable.
EXISTING_WHERE = (
    "l.child_key IS NOT NULL AND c.status <> 'merged' "
    "AND ((s.record_status = 'active' AND q.record_key IS NULL) "
    "OR (s.record_status <> 'active' AND c.shielded))"
)
EXISTING_COLUMNS = {"child_key": ("l.child_key", pl.Int64()),
                    "shielded": ("c.shielded", pl.Boolean())}


def read_children_records(conn: Connection, child_keys: set[int]) -> pl.DataFrame:
    """``record_key, child_key, shielded, nhs_number`` of the existing records (as
    :data:`EXISTING_WHERE`) of the given children."""
    schema = {"record_key": pl.Int64(), "child_key": pl.Int64(), "shielded": pl.Boolean(),
              "nhs_number": pl.Utf8()}
    if not child_keys:
        return pl.DataFrame(schema=schema)
    load_temp(conn, "tmp_children", pl.DataFrame({"k": sorted(child_keys)},
                                                 schema={"k": pl.Int64()}))
    df = query_frame(
        conn,
        # SQL from internal table and column names only (bandit B608 waived)
        f"SELECT s.id, l.child_key, c.shielded, s.nhs_number FROM {RECORD_FROM} "  # nosec B608
        f"WHERE l.child_key IN (SELECT k FROM tmp_children) AND {EXISTING_WHERE}",
        schema,
    )
    drop_temp(conn, "tmp_children")
    return df


def conform_existing(df: pl.DataFrame) -> pl.DataFrame:
    return conform(df, existing=True)


# --- writes ---------------------------------------------------------------------------------

_PG_TYPES = {pl.Int64(): "BIGINT", pl.Float64(): "DOUBLE PRECISION", pl.Utf8(): "TEXT",
             pl.Boolean(): "BOOLEAN"}
_SQLITE_TYPES = {pl.Int64(): "INTEGER", pl.Float64(): "REAL", pl.Utf8(): "TEXT",
                 pl.Boolean(): "INTEGER"}


def load_temp(conn: Connection, name: str, df: pl.DataFrame) -> None:
    """(Re)create temporary table ``name`` with ``df``'s columns and rows."""
    types = _PG_TYPES if is_postgres(conn) else _SQLITE_TYPES
    cols = ", ".join(f"{c} {types[t]}" for c, t in df.schema.items())
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({cols})")
    if df.height == 0:
        return
    append_rows(conn, name, df)
    analyze_temp(conn, name)


def append_rows(conn: Connection, name: str, df: pl.DataFrame) -> None:
    """Add ``df``'s rows to table ``name`` by column name (``COPY`` on PostgreSQL): a
    temporary table made by :func:`load_temp` (then :func:`analyze_temp` once the last rows are
    in), or a table whose columns take ``df``'s values as they are."""
    if df.height == 0:
        return
    if is_postgres(conn):
        payload = df.write_csv(include_header=False, null_value="").encode()
        raw = conn.connection.driver_connection
        column_list = ", ".join(df.columns)
        with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
            f"COPY {name} ({column_list}) FROM STDIN (FORMAT csv)"
        ) as copy:
            for start in range(0, len(payload), 1 << 22):
                copy.write(payload[start : start + (1 << 22)])
        return
    marks = ", ".join("?" for _ in df.columns)
    insert_sql = f"INSERT INTO {name} ({', '.join(df.columns)}) VALUES ({marks})"  # nosec B608 - internal names only
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for batch in df.iter_slices(_FETCH_BATCH):
            cursor.executemany(insert_sql, batch.rows())
    finally:
        cursor.close()


def analyze_temp(conn: Connection, name: str) -> None:
    """Planner statistics for a loaded temporary table (PostgreSQL; autovacuum never sees
    temporary tables)."""
    if is_postgres(conn):
        conn.exec_driver_sql(f"ANALYZE {name}")


def drop_temp(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


_DAMM = np.array(
    [
        [0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
        [4, 2, 0, 6, 8, 7, 1, 3, 5, 9], [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
        [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
        [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
        [9, 4, 3, 8, 6, 1, 7, 2, 0, 5], [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
    ],
    dtype=np.int8,
)


def child_ids_for(sequence_numbers: np.ndarray[Any, Any]) -> list[str]:
    """Vectorised :func:`contactpoint.domain.identifiers.format_child_id`."""
    width = CHILD_ID_LENGTH - 1
    seq = sequence_numbers.astype(np.int64)
    digits = np.zeros((seq.size, width), dtype=np.int8)
    rest = seq.copy()
    for pos in range(width - 1, -1, -1):
        digits[:, pos] = rest % 10
        rest //= 10
    interim = np.zeros(seq.size, dtype=np.int8)
    for pos in range(width):
        interim = _DAMM[interim, digits[:, pos]]
    return [f"{s:0{width}d}{c}" for s, c in zip(seq.tolist(), interim.tolist(), strict=True)]


def reserve_child_keys(conn: Connection, n: int) -> list[int]:
    """``n`` keys for children this transaction will create (:func:`create_children`), in
    ascending order. On SQLite (one writer at a time) they follow the largest key, so no other
    child may be created in between."""
    if n == 0:
        return []
    if is_postgres(conn):
        # the sequence looked up once (materialised): ``nextval(pg_get_serial_sequence(..))``
        # per row repeated the catalogue look-up for every child, 6.3 s of 1 M (0.6 s now)
        ids = conn.execute(
            text("WITH s AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence('child', 'id') "
                 "AS regclass) AS seq) SELECT nextval(s.seq) FROM s, generate_series(1, :n)"),
            {"n": n},
        ).scalars().all()
        keys = np.array(sorted(int(i) for i in ids), dtype=np.int64)
    else:
        start = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM child")).scalar_one()) + 1
        keys = np.arange(start, start + n, dtype=np.int64)
    return [int(k) for k in keys.tolist()]


def create_children(conn: Connection, protections: pl.DataFrame, now: datetime,
                    keys: list[int] | None = None) -> list[int]:
    """Insert one child per row of ``protections`` (columns ``shielded`` Boolean,
    ``owning_la`` Utf8, ``retained_to_25`` Boolean, in that order of meaning), with ``keys``
    (:func:`reserve_child_keys`) or keys reserved now; returns their keys (``child.id``), in
    row order."""
    n = protections.height
    if n == 0:
        return []
    if keys is None:
        keys = reserve_child_keys(conn, n)
    elif len(keys) != n:
        raise ValueError(f"{len(keys)} keys for {n} children")
    frame = protections.select(
        pl.Series("id", keys, dtype=pl.Int64()),
        pl.Series("child_id", child_ids_for(np.array(keys, dtype=np.int64))),
        pl.col("shielded").fill_null(False),
        pl.col("owning_la"),
        pl.col("retained_to_25").fill_null(False),
    )
    load_temp(conn, "tmp_new_child", frame)
    stmt = text(
        # SQL from internal table and column names only (bandit B608 waived)
        "INSERT INTO child (id, child_id, status, shielded, owning_la, retained_to_25, "  # nosec B608
        "created_at, updated_at) SELECT id, child_id, 'active', "
        + ("shielded, owning_la, retained_to_25" if is_postgres(conn)
           else "shielded <> 0, owning_la, retained_to_25 <> 0")
        + ", :now, :now FROM tmp_new_child"
    ).bindparams(bindparam("now", now, type_=UTCDateTime()))
    conn.execute(stmt)
    drop_temp(conn, "tmp_new_child")
    return keys


ASSIGN_SCHEMA: dict[str, pl.DataType] = {
    "record_key": pl.Int64(),
    "child_key": pl.Int64(),
    "band": pl.Utf8(),
    "match_probability": pl.Float64(),
}


def apply_assignments(
    conn: Connection,
    assignments: pl.DataFrame,
    *,
    kind: str,
    now: datetime,
    run_id: int | None = None,
    model_version: str | None = None,
    merge_event_id: int | None = None,
    settle: bool = True,
) -> int:
    """Point each ``record_key`` at ``child_key`` (``record_link``) and write one
    ``link_event`` per record, with the child it left. ``settle`` also takes the records off
    ``link_queue``. Returns rows changed."""
    if assignments.height == 0:
        return 0
    frame = assignments.select(
        pl.col(c).cast(t) for c, t in ASSIGN_SCHEMA.items()
    )
    load_temp(conn, "tmp_assign", frame)
    if is_postgres(conn):
        conn.exec_driver_sql("CREATE INDEX ON tmp_assign (record_key)")
    else:
        conn.exec_driver_sql("CREATE INDEX tmp_assign_key ON tmp_assign (record_key)")
    params = [
        bindparam("now", now, type_=UTCDateTime()),
        bindparam("run_id", run_id),
        bindparam("mv", model_version),
        bindparam("me", merge_event_id),
        bindparam("kind", kind),
    ]
    conn.execute(
        text(
            "INSERT INTO link_event (record_key, child_key, previous_child_key, kind, band, "
            "match_probability, model_version, run_id, merge_event_id, created_at) "
            "SELECT t.record_key, t.child_key, l.child_key, :kind, t.band, t.match_probability, "
            ":mv, :run_id, :me, :now FROM tmp_assign t "
            "LEFT JOIN record_link l ON l.record_key = t.record_key"
        ).bindparams(*params)
    )
    # moved records, then new links: two plain statements, not an upsert (a first run inserts
    # millions of links, and an upsert pays a speculative insertion for each)
    moved = conn.exec_driver_sql(
        "UPDATE record_link SET child_key = t.child_key FROM tmp_assign t "
        "WHERE record_link.record_key = t.record_key"
    )
    linked = conn.exec_driver_sql(
        "INSERT INTO record_link (record_key, child_key) SELECT t.record_key, t.child_key "
        "FROM tmp_assign t WHERE NOT EXISTS "
        "(SELECT 1 FROM record_link l WHERE l.record_key = t.record_key)"
    )
    if settle:
        conn.exec_driver_sql(
            "DELETE FROM link_queue WHERE record_key IN (SELECT record_key FROM tmp_assign)"
        )
    drop_temp(conn, "tmp_assign")
    return int(moved.rowcount or 0) + int(linked.rowcount or 0)


def dequeue_inactive(
    conn: Connection, *, now: datetime, run_id: int, model_version: str | None
) -> int:
    """Take retired and deleted records off ``link_queue``; call it only once the engine's
    store has taken their retirement in (after ``match_new`` or a first run's store). A record
    that has a child gets a ``link_event`` of kind ``retire`` (its child on both sides), so a
    store at any earlier mark learns of it too. Returns how many left the queue."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE tmp_retired AS SELECT q.record_key FROM link_queue q "
        "JOIN source_record s ON s.id = q.record_key WHERE s.record_status <> 'active'"
    )
    conn.execute(
        text(
            "INSERT INTO link_event (record_key, child_key, previous_child_key, kind, band, "
            "match_probability, model_version, run_id, merge_event_id, created_at) "
            "SELECT l.record_key, l.child_key, l.child_key, 'retire', 'retired', NULL, :mv, "
            ":run_id, NULL, :now FROM record_link l "
            "JOIN tmp_retired t ON t.record_key = l.record_key"
        ).bindparams(bindparam("now", now, type_=UTCDateTime()),
                     bindparam("run_id", run_id), bindparam("mv", model_version))
    )
    gone = conn.exec_driver_sql(
        "DELETE FROM link_queue WHERE record_key IN (SELECT record_key FROM tmp_retired)")
    drop_temp(conn, "tmp_retired")
    return int(gone.rowcount or 0)


def child_frame(conn: Connection, keys: Sequence[int] | None = None) -> pl.DataFrame:
    """Children's protections: ``child_key, status, shielded, owning_la, retained_to_25``."""
    where = ""
    if keys is not None:
        if not keys:
            return pl.DataFrame(schema=_CHILD_SCHEMA)
        load_temp(conn, "tmp_keys", pl.DataFrame({"k": list(keys)}, schema={"k": pl.Int64()}))
        where = " WHERE id IN (SELECT k FROM tmp_keys)"
    df = query_frame(
        conn,
        # SQL from internal table and column names only (bandit B608 waived)
        "SELECT id, status, shielded, owning_la, retained_to_25 FROM child" + where,  # nosec B608
        _CHILD_SCHEMA,
    )
    if keys is not None:
        drop_temp(conn, "tmp_keys")
    return df


_CHILD_SCHEMA: dict[str, pl.DataType] = {
    "child_key": pl.Int64(),
    "status": pl.Utf8(),
    "shielded": pl.Boolean(),
    "owning_la": pl.Utf8(),
    "retained_to_25": pl.Boolean(),
}
