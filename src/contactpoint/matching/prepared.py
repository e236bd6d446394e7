"""The engine's store of existing records, kept in a DuckDB file between link runs.

A daily delta is scored against every existing record, but only records that are new or
changed since the last run need normalising again (:func:`contactpoint.matching.normalise.prepare`
is the expensive step), and nothing about the millions of others needs to travel. Tables:

* ``lf_existing``: the prepared records (``unique_id`` = record key) with ``_h``, the content
  hash of the record they were prepared from;
* ``existing_child`` (``unique_id``, ``child_key``): the child each record belongs to;
* ``existing_shielded`` (``child_key``): the shielded children;
* ``cp_meta``: the preparation version and the *mark* the caller gave with the last update;
* ``staged_new``: the last ``match_new``'s new records as prepared then (with ``_h``), outside
  the mark: once they are linked, an update that names them takes their rows from here when
  the content hash matches, instead of preparing them again (:func:`stage`).

:func:`update` applies an :class:`~contactpoint.matching.frame.Existing` in one DuckDB
transaction: in full (rows whose hash no longer matches are replaced, missing ones prepared,
others kept), or as changes since the mark the store holds. The file holds comparison keys
derived from personal data: it lives in the linkage directory, under the same protection as
the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from contactpoint.matching.frame import Existing
from contactpoint.matching.normalise import PREPARE_VERSION, prepare
from contactpoint.matching.splinkdb import connect, fetch, register

FILE = "existing.duckdb"  # in the engine's work directory
TABLE = "lf_existing"
CHILDREN = "existing_child"
SHIELDED = "existing_shielded"
STAGED = "staged_new"
_HASH_SEED = 20261125
_VERSION = f"{PREPARE_VERSION}|polars {pl.__version__}"  # row hashes are per polars version


@contextmanager
def opened(workdir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store in ``workdir`` (created empty if there is none), closed afterwards."""
    con = connect(workdir, FILE, keep=True)
    try:
        yield con
    finally:
        con.close()


class StaleStore(RuntimeError):
    """Changes were given against a state the store does not hold."""


def _row_hashes(records: pl.DataFrame) -> pl.DataFrame:
    """Content hash per record of a record frame (its own columns only)."""
    own = records.drop("child_key", "shielded", strict=False)
    return own.select(
        pl.col("record_key").alias("unique_id"), own.hash_rows(seed=_HASH_SEED).alias("_h")
    )


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    con.execute("CREATE TABLE IF NOT EXISTS cp_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    rows = con.execute("SELECT value FROM cp_meta WHERE key = ?", [key]).fetchall()
    return str(rows[0][0]) if rows else None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {t for (t,) in con.execute("SHOW TABLES").fetchall()}


def _prepared_current(con: duckdb.DuckDBPyConnection) -> bool:
    """``lf_existing`` exists and was prepared by this version of the preparation."""
    return _meta(con, "prepare_version") == _VERSION and TABLE in _tables(con)


def _current(con: duckdb.DuckDBPyConnection) -> bool:
    """The store is usable: prepared records and their children."""
    return _prepared_current(con) and CHILDREN in _tables(con)


def mark(con: duckdb.DuckDBPyConnection) -> str | None:
    """The mark given with the last update, if the store is usable as it stands."""
    return _meta(con, "mark") if _current(con) else None


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def keep_prepared(
    con: duckdb.DuckDBPyConnection, records: pl.DataFrame, done: pl.DataFrame
) -> None:
    """Keep ``done`` = ``prepare(records)`` before the records have children (a first link
    run); the store is not usable (no mark) until :func:`update` gives it the children."""
    with _transaction(con):
        _replace_all(con, records, done)
        _set_meta(con, "prepare_version", _VERSION)
        _set_meta(con, "mark", None)


def stage(con: duckdb.DuckDBPyConnection, records: pl.DataFrame, done: pl.DataFrame) -> None:
    """Keep ``done`` = ``prepare(records)`` (new records being matched) beside the store: no
    part of the existing records until an :func:`update` names them, which then reuses a row
    whose content hash still matches rather than preparing the record again."""
    staged = done.join(_row_hashes(records), on="unique_id")
    with _transaction(con), register(con, "__cp_staged", staged):
        con.execute(f"CREATE OR REPLACE TABLE {STAGED} AS SELECT * FROM __cp_staged")  # noqa: S608 - internal names only  # nosec B608
        _set_meta(con, "staged_version", _VERSION)


def _insert_changed(con: duckdb.DuckDBPyConnection, records: pl.DataFrame) -> int:
    """Insert ``prepare(records)`` with ``_h``: rows staged with the same content hash are
    copied as they were prepared (:func:`stage`), the others prepared now. Returns how many
    were prepared now."""
    wanted = _row_hashes(records)
    todo = records
    if STAGED in _tables(con) and _meta(con, "staged_version") == _VERSION:
        with register(con, "__cp_wanted", wanted):
            reused = con.execute(f"INSERT INTO {TABLE} BY NAME SELECT s.* FROM {STAGED} s "  # noqa: S608 - internal names only  # nosec B608
                                 "JOIN __cp_wanted w ON w.unique_id = s.unique_id AND w._h = s._h "
                                 "RETURNING unique_id").fetchall()
        done = pl.Series("k", [k for (k,) in reused], dtype=pl.Int64())
        todo = records.filter(~pl.col("record_key").is_in(done.implode()))
    _insert(con, prepare(todo).join(wanted, on="unique_id"))
    return todo.height


def update(con: duckdb.DuckDBPyConnection, existing: Existing) -> int:
    """Bring the store to ``existing``; returns how many records were prepared afresh.
    Raises :class:`StaleStore` for changes since a mark the store does not hold."""
    records = existing.records
    children = records.select(pl.col("record_key").alias("unique_id"), "child_key")
    with _transaction(con):
        if existing.complete:
            afresh = _replace_all(con, records, None).height
            shielded = records.filter(pl.col("shielded"))["child_key"].unique()
            with register(con, "__cp_children", children):
                con.execute(f"CREATE OR REPLACE TABLE {CHILDREN} AS SELECT * FROM __cp_children")  # noqa: S608 - internal names only  # nosec B608
        else:
            if mark(con) != existing.since:
                raise StaleStore("the store of existing records is not at the state given")
            if existing.changed is None or existing.shielded_children is None:
                raise ValueError("changes need the changed keys and the shielded children")
            shielded = existing.shielded_children
            with register(con, "__cp_changed", existing.changed.to_frame("unique_id")):
                for table in (TABLE, CHILDREN):
                    con.execute(f"DELETE FROM {table} WHERE unique_id IN "  # noqa: S608 - internal names only  # nosec B608
                                "(SELECT unique_id FROM __cp_changed)").fetchall()
            afresh = _insert_changed(con, records)
            with register(con, "__cp_children", children):
                con.execute(f"INSERT INTO {CHILDREN} BY NAME SELECT * FROM __cp_children")  # noqa: S608 - internal names only  # nosec B608
        with register(con, "__cp_shielded", shielded.cast(pl.Int64()).to_frame("child_key")):
            con.execute(f"CREATE OR REPLACE TABLE {SHIELDED} AS SELECT * FROM __cp_shielded")  # noqa: S608 - internal names only  # nosec B608
        _set_meta(con, "prepare_version", _VERSION)
        _set_meta(con, "mark", existing.mark)
    return afresh


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str | None) -> None:
    _meta(con, key)  # the table exists
    if value is None:
        con.execute("DELETE FROM cp_meta WHERE key = ?", [key])
    else:
        con.execute("INSERT OR REPLACE INTO cp_meta VALUES (?, ?)", [key, value])


def _insert(con: duckdb.DuckDBPyConnection, fresh: pl.DataFrame) -> None:
    if fresh.height:
        with register(con, "__cp_fresh", fresh):
            con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM __cp_fresh")  # noqa: S608 - internal names only  # nosec B608


def _replace_all(
    con: duckdb.DuckDBPyConnection, records: pl.DataFrame, done: pl.DataFrame | None
) -> pl.DataFrame:
    """``lf_existing`` := ``prepare(records)``, preparing only what the table lacks."""
    wanted = _row_hashes(records)
    with register(con, "__cp_wanted", wanted):
        if _prepared_current(con):
            con.execute(
                f"DELETE FROM {TABLE} e WHERE NOT EXISTS (SELECT 1 FROM __cp_wanted w "  # noqa: S608 - internal names only  # nosec B608
                "WHERE w.unique_id = e.unique_id AND w._h = e._h)"
            )
            todo = fetch(
                con,
                f"SELECT unique_id FROM __cp_wanted w WHERE NOT EXISTS (SELECT 1 FROM "  # noqa: S608 - internal names only  # nosec B608
                f"{TABLE} e WHERE e.unique_id = w.unique_id)",
            )
            keys = todo.get_column("unique_id").implode()
            fresh = prepare(records.filter(pl.col("record_key").is_in(keys))).join(
                wanted, on="unique_id")
            _insert(con, fresh)
            return fresh
        fresh = _with_hashes(prepare(records) if done is None else done, wanted)
        with register(con, "__cp_fresh", fresh):
            con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT * FROM __cp_fresh")  # noqa: S608 - internal names only  # nosec B608
        return fresh


def _with_hashes(done: pl.DataFrame, wanted: pl.DataFrame) -> pl.DataFrame:
    """``done`` with each row's ``_h`` from ``wanted``. :func:`prepare` keeps the records'
    order, so the hashes are one more column, not a join that copies every prepared row (a
    first run's nation: the copy was the peak of keeping them)."""
    if done["unique_id"].equals(wanted["unique_id"]):
        return done.with_columns(wanted["_h"])
    return done.join(wanted, on="unique_id")


def columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The prepared columns (without the content hash), in table order."""
    names = [r[0] for r in con.execute(f"DESCRIBE {TABLE}").fetchall()]
    return [n for n in names if n != "_h"]
