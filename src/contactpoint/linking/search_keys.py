# ruff: noqa: S608  (SQL here is built from this module's own constant identifiers; values are bound)
"""The ``search_key`` table: written by link runs, merges and unmerges; read by search.

* :func:`rebuild` after a first run (every active, linked record);
* :func:`refresh` after an incremental run (the records the run linked, changed or retired);
* :func:`follow` when a merge or unmerge moves records to another child;
* :func:`candidates`: the key rows a query can reach through the table's indexes.

Keys come from the engine (``matching.engine.search_keys``): the same normalisation as linkage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Dialect, Engine, TextClause, delete, text, update

from contactpoint.linking import store
from contactpoint.linking.tables import search_key
from contactpoint.matching.engine import KEY_COLUMNS, SEARCH_KEY_SCHEMA, search_keys

_BATCH = 200_000
_CHUNK = 5_000
PER_PATH_LIMIT = 200  # rows each retrieval path may bring back
_COLUMNS = ["record_key", "child_key", *KEY_COLUMNS]
_LIVE_RECORDS = "s.record_status = 'active' AND l.child_key IS NOT NULL AND c.status <> 'merged'"


def _write(conn: Connection, records: pl.DataFrame) -> int:
    """Insert the keys of ``records`` (a record frame plus ``child_key``)."""
    if records.height == 0:
        return 0
    return _insert(conn, search_keys(records.drop("child_key")).join(
        records.select("record_key", "child_key"), on="record_key"
    ))


def _insert(conn: Connection, keys: pl.DataFrame, table: str = "search_key") -> int:
    """Insert key rows (:data:`SEARCH_KEY_SCHEMA` plus ``child_key``) as they are."""
    if keys.height == 0:
        return 0
    store.append_rows(conn, table, keys.select(_COLUMNS))  # straight in: no staging
    return keys.height


def _read(conn: Connection, where: str) -> pl.DataFrame:
    return store.read_records(conn, where, {"child_key": ("l.child_key", pl.Int64())})


def _insert_prepared(conn: Connection, children: pl.DataFrame, prepared: Sequence[Path],
                     table: str = "search_key") -> int:
    """Insert the engine's ``prepared`` key files, each record with its child from
    ``children`` (``record_key, child_key``)."""
    return sum(_insert(conn, pl.read_ipc(path).join(children, on="record_key"), table)
               for path in prepared)


def rebuild(conn: Connection, records: pl.DataFrame | None = None,
            prepared: Sequence[Path] = ()) -> int:
    """Every key again: from ``records`` (record frame + ``child_key``, after a first run) or
    from the database. The retrieval indexes are dropped for the bulk load and built again
    after it (building an index once is several times cheaper than maintaining it per row).

    ``prepared``: Arrow IPC files of :data:`SEARCH_KEY_SCHEMA` rows the engine made for
    ``records`` while it scored them (``LinkResult.search_keys``): stored as given, with each
    record's child from ``records``, rather than preparing the records again."""
    conn.execute(delete(search_key))
    written = 0
    with store.indexes_built_after(conn, search_key):
        if records is not None and prepared:
            written = _insert_prepared(conn, records.select("record_key", "child_key"), prepared)
        elif records is not None:
            for part in records.iter_slices(_BATCH):
                written += _write(conn, part)
        else:
            written = _write(conn, _read(conn, _LIVE_RECORDS))
    if store.is_postgres(conn):
        conn.exec_driver_sql("ANALYZE search_key")
    return written


SIDE_BUILD_RECORDS = 200_000  # a first run this large builds its keys beside itself


@contextmanager
def rebuilt_after(conn: Connection, children: pl.DataFrame, prepared: Sequence[Path],
                  *, beside_from: int | None = None) -> Iterator[None]:
    """A first run's keys (:func:`rebuild` of ``children``, ``record_key, child_key``, with the
    engine's ``prepared`` key files), in place when the block ends, in the run's transaction.

    On PostgreSQL, for the table's owner and at least ``beside_from`` records (default
    :data:`SIDE_BUILD_RECORDS`), the keys are built *beside* the run while the block's work
    goes on (:class:`_Beside`): loaded and indexed in a table of their own on a connection of
    its own, which uses the core the run's own statements leave idle; the block's end swaps
    that table in for ``search_key`` inside the run's transaction, so the keys change with the
    run or not at all. Otherwise the keys are written in the run's transaction as the block
    ends (without ``prepared`` files, from the records as the database holds them then)."""
    least = SIDE_BUILD_RECORDS if beside_from is None else beside_from
    if not (prepared and store.is_postgres(conn) and children.height >= least
            and store.owns(conn, "search_key")):
        yield
        if prepared:
            rebuild(conn, children, prepared=prepared)
        else:
            rebuild(conn)
        return
    beside = _Beside(conn.engine, children, prepared)
    try:
        yield
        beside.swap_in(conn)
    except BaseException:
        beside.abandon()
        raise


_NEXT = "search_key_next"  # the table built beside a first run, until it is swapped in


class _Beside:
    """``search_key``'s next rows and indexes, built on a connection and thread of their own
    and committed under :data:`_NEXT`; :meth:`swap_in` makes them ``search_key`` in the
    caller's transaction (its privileges copied), :meth:`abandon` cancels and drops them. A
    table left by a run that died between the two is dropped by the next build."""

    def __init__(self, engine: Engine, children: pl.DataFrame, prepared: Sequence[Path]) -> None:
        self._engine = engine
        self._conn = engine.connect()
        self._closed = False
        self._swapping = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-keys")
        self._done: Future[int] = self._pool.submit(self._build, children, list(prepared))

    def _build(self, children: pl.DataFrame, prepared: list[Path]) -> int:
        conn = self._conn
        with conn.begin():
            definitions = _index_definitions(conn)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_NEXT}")
            conn.exec_driver_sql(
                f"CREATE TABLE {_NEXT} (LIKE search_key INCLUDING ALL EXCLUDING INDEXES)")
            written = _insert_prepared(conn, children, prepared, _NEXT)
            with store.sort_memory(conn, store.INDEX_SORT_MEMORY):
                for _, build, _ in definitions:
                    conn.exec_driver_sql(build)
            conn.exec_driver_sql(f"ANALYZE {_NEXT}")
        return written

    def swap_in(self, conn: Connection) -> int:
        """Wait for the build, then make it ``search_key`` in ``conn``'s transaction."""
        try:
            written = self._done.result()
        finally:
            self._close()
        grants = conn.exec_driver_sql(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, "
            "a.privilege_type FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE c.oid = 'search_key'::regclass AND a.grantee <> c.relowner").all()
        definitions = _index_definitions(conn)
        self._swapping = True  # from here the run's transaction holds locks on the new table
        for grantee, privilege in grants:
            conn.exec_driver_sql(f"GRANT {privilege} ON {_NEXT} TO {grantee}")
        conn.exec_driver_sql("DROP TABLE search_key")
        conn.exec_driver_sql(f"ALTER TABLE {_NEXT} RENAME TO search_key")
        for name, _, rename in definitions:
            conn.exec_driver_sql(rename.format(name=name))
        return written

    def abandon(self) -> None:
        """Cancel the build (if it still runs), wait for it, and drop what it made."""
        if not self._closed:
            self._conn.connection.driver_connection.cancel()  # type: ignore[union-attr]
            try:
                self._done.exception()
            finally:
                self._close()
        if self._swapping:  # dropped by the next build: a drop here would wait for the run
            return
        with self._engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_NEXT}")

    def _close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True)
        self._conn.close()


def _index_definitions(conn: Connection) -> list[tuple[str, str, str]]:
    """Each index of ``search_key`` as it stands in the database: its name, the statement that
    builds it on :data:`_NEXT` (under a name of its own), and the statement that renames that
    one to ``{name}`` once :data:`_NEXT` is ``search_key`` (constraints such as the primary key
    by their constraint)."""
    rows = conn.exec_driver_sql(
        "SELECT i.relname, pg_get_indexdef(i.oid), k.conname, pg_get_constraintdef(k.oid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid "
        "WHERE x.indrelid = 'search_key'::regclass ORDER BY i.relname").all()
    out = []
    for index, definition, constraint, constraint_def in rows:
        temporary = f"{index}_next"
        if constraint is not None:
            build = f"ALTER TABLE {_NEXT} ADD CONSTRAINT {temporary} {constraint_def}"
            rename = f"ALTER TABLE search_key RENAME CONSTRAINT {temporary} TO {{name}}"
        else:
            build, n = re.subn(r"^(CREATE (?:UNIQUE )?INDEX) (\S+) ON (\S+\.)?search_key ",
                               rf"\1 {temporary} ON \3{_NEXT} ", definition)
            if n != 1:
                raise RuntimeError(f"unexpected definition of index {index}")
            rename = f"ALTER INDEX {temporary} RENAME TO {{name}}"
        out.append((str(constraint or index), build, rename))
    return out


def refresh(
    conn: Connection, record_keys: Iterable[int], prepared: pl.DataFrame | None = None
) -> int:
    """Bring the keys of ``record_keys`` up to date (linked, changed, retired or deleted).

    ``prepared``: keys the engine already made (:data:`SEARCH_KEY_SCHEMA` rows, e.g. from
    ``match_new``) for some of them, as they stand in the database now; they are stored as
    given (for the records that are live, with their child from the database), and only the
    other live records are read and prepared."""
    keys = sorted(set(record_keys))
    if not keys:
        return 0
    given = (None if prepared is None
             else prepared.select(list(SEARCH_KEY_SCHEMA)).cast(SEARCH_KEY_SCHEMA))  # type: ignore[arg-type]
    written = 0
    for start in range(0, len(keys), _BATCH):
        part = keys[start:start + _BATCH]
        store.load_temp(conn, "tmp_key_refresh", pl.DataFrame({"k": part},
                                                             schema={"k": pl.Int64()}))
        conn.exec_driver_sql(
            "DELETE FROM search_key WHERE record_key IN (SELECT k FROM tmp_key_refresh)")
        live = f"s.id IN (SELECT k FROM tmp_key_refresh) AND {_LIVE_RECORDS}"  # nosec B608 - internal names and constants only
        if given is None:
            written += _write(conn, _read(conn, live))
        else:
            children = store.query_frame(
                conn, f"SELECT s.id, l.child_key FROM {store.RECORD_FROM} WHERE {live}",  # nosec B608 - internal names and constants only
                {"record_key": pl.Int64(), "child_key": pl.Int64()})
            written += _insert(conn, given.join(children, on="record_key"))
            missing = children.filter(
                ~pl.col("record_key").is_in(given["record_key"].implode()))
            if missing.height:
                store.load_temp(conn, "tmp_key_missing", missing.select(
                    pl.col("record_key").alias("k")))
                written += _write(conn, _read(
                    conn, f"s.id IN (SELECT k FROM tmp_key_missing) AND {_LIVE_RECORDS}"))  # nosec B608 - internal names and constants only
                store.drop_temp(conn, "tmp_key_missing")
        store.drop_temp(conn, "tmp_key_refresh")
    return written


def follow(conn: Connection, record_keys: Sequence[int], child_key: int) -> None:
    """A merge or unmerge moved ``record_keys`` to ``child_key``."""
    for start in range(0, len(record_keys), _CHUNK):
        conn.execute(
            update(search_key)
            .where(search_key.c.record_key.in_(list(record_keys[start:start + _CHUNK])))
            .values(child_key=child_key)
        )


def empty(conn: Connection) -> bool:
    return conn.execute(text("SELECT record_key FROM search_key LIMIT 1")).first() is None


def inactive_queued(conn: Connection) -> list[int]:
    """Queued records that were retired or deleted (their keys must go)."""
    return [int(k) for (k,) in conn.execute(text(
        "SELECT q.record_key FROM link_queue q JOIN source_record s ON s.id = q.record_key "
        "WHERE s.record_status <> 'active'"))]


# --- retrieval ------------------------------------------------------------------------------

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    **SEARCH_KEY_SCHEMA, "child_key": pl.Int64(), "child_id": pl.Utf8(),
    "shielded": pl.Boolean(),
}


@dataclass(frozen=True)
class Retrieval:
    """What retrieval may use: the query's keys and an optional birth range (ISO dates)."""

    keys: dict[str, Any]
    born_from: date | None = None
    born_to: date | None = None


def _swapped(dob: str) -> str | None:
    y, m, d = dob[:4], dob[5:7], dob[8:10]
    if m == d or int(d) > 12:
        return None
    try:
        return date(int(y), int(d), int(m)).isoformat()
    except ValueError:
        return None


def _paths(r: Retrieval) -> tuple[list[str], dict[str, Any]]:
    k = r.keys
    params: dict[str, Any] = {}
    paths: list[str] = []
    rng = ""
    if r.born_from is not None and r.born_to is not None:
        params["lo"], params["hi"] = r.born_from.isoformat(), r.born_to.isoformat()
        rng = " AND dob BETWEEN :lo AND :hi"
    for name in ("nhs", "upn", "sn", "fn_canon", "sn_mp", "pc_district"):
        if k.get(name) is not None:
            params[name] = k[name]
    if "nhs" in params:
        paths.append("nhs = :nhs")
    if "upn" in params:
        paths.append("upn = :upn")
    dob = k.get("dob")
    if dob is not None:
        dobs = [dob] + ([s] if (s := _swapped(dob)) else [])
        for i, d in enumerate(dobs):
            params[f"d{i}"] = d
            if "sn" in params:
                paths.append(f"sn = :sn AND dob = :d{i}")
                paths.append(f"sn_former = :sn AND dob = :d{i}")
            if "fn_canon" in params:
                paths.append(f"fn_canon = :fn_canon AND dob = :d{i}")
            if "sn_mp" in params:
                paths.append(f"sn_mp = :sn_mp AND dob = :d{i}")
            if "pc_district" in params:
                paths.append(f"dob = :d{i} AND pc_district = :pc_district")
    if "fn_canon" in params and "sn" in params:
        paths.append(f"fn_canon = :fn_canon AND sn = :sn{rng}")
    if "pc_district" in params:
        if "sn" in params:
            paths.append(f"sn = :sn AND pc_district = :pc_district{rng}")
        if "fn_canon" in params:
            paths.append(f"fn_canon = :fn_canon AND pc_district = :pc_district{rng}")
    return paths, params


@lru_cache(maxsize=512)
def _candidate_statement(paths: tuple[str, ...]) -> tuple[TextClause, frozenset[str]]:
    """The retrieval statement for these paths (built once per combination of paths: a
    statement's construction and SQLAlchemy's cache-key walk are not paid per search), and the
    names of the parameters it binds."""
    cols = ", ".join(_COLUMNS)
    union = " UNION ".join(
        f"SELECT * FROM (SELECT {cols} FROM search_key WHERE {p} LIMIT {PER_PATH_LIMIT})"
        f" AS p{i}"  # nosec B608 - internal names and constants only
        for i, p in enumerate(paths)
    )
    kcols = ", ".join(f"k.{c}" for c in _COLUMNS)
    sql = (
        f"SELECT {kcols}, c.child_id, c.shielded FROM ({union}) AS k "
        "JOIN child c ON c.id = k.child_key WHERE c.status = 'active'"  # nosec B608 - internal names and constants only
    )
    return text(sql), frozenset(re.findall(r"(?<!:):(\w+)", sql))


@dataclass(frozen=True)
class _DriverStatement:
    """A retrieval statement in one driver's own SQL and parameter style."""

    sql: str
    positions: tuple[str, ...] | None  # parameter names in order (positional styles), or None


@lru_cache(maxsize=1024)
def _driver_statement(paths: tuple[str, ...], dialect: Dialect) -> _DriverStatement:
    """:func:`_candidate_statement` compiled once for ``dialect``: a search sends it through
    the driver's cursor, without SQLAlchemy's execution context per call (its text statement
    has no typed columns, so SQLAlchemy would not convert any value anyway)."""
    compiled = _candidate_statement(paths)[0].compile(dialect=dialect)
    positions = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _DriverStatement(str(compiled), positions)


def candidate_rows(conn: Connection, retrieval: Retrieval) -> list[dict[str, Any]]:
    """Key rows of live children reachable by the query (the :data:`CANDIDATE_SCHEMA`
    columns, as plain dicts: a search scores them without building a frame); one statement,
    sent in the connection's transaction through the driver's cursor."""
    paths, params = _paths(retrieval)
    if not paths:
        return []
    statement = _driver_statement(tuple(paths), conn.dialect)
    bound: Any = (
        {n: params[n] for n in _candidate_statement(tuple(paths))[1]}
        if statement.positions is None else tuple(params[n] for n in statement.positions))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement.sql, bound)
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    names = [*_COLUMNS, "child_id", "shielded"]
    out = []
    for r in fetched:
        row = dict(zip(names, r, strict=True))
        row["shielded"] = bool(row["shielded"])
        out.append(row)
    return out


def candidates(conn: Connection, retrieval: Retrieval) -> pl.DataFrame:
    """:func:`candidate_rows` as a frame (:data:`CANDIDATE_SCHEMA`)."""
    rows = candidate_rows(conn, retrieval)
    schema = {c: CANDIDATE_SCHEMA[c] for c in [*_COLUMNS, "child_id", "shielded"]}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


__all__ = ["CANDIDATE_SCHEMA", "Retrieval", "candidate_rows", "candidates", "empty", "follow",
           "inactive_queued", "rebuild", "rebuilt_after", "refresh"]
