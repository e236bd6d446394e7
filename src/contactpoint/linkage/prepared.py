"""The prepared (comparison-ready) existing records, kept in a DuckDB file between link runs.

A daily delta is scored against every existing record, but only records that are new or
changed since the last run need normalising again (:func:`contactpoint.linkage.normalise.prepare`
is the expensive step). ``sync`` brings table ``lf_existing`` in line with an existing frame:
rows whose content hash no longer matches are deleted, missing ones are prepared and inserted,
all in one DuckDB transaction. The file holds comparison keys derived from personal data: it
lives in the caller's work directory, under the same protection as the database.
"""

from __future__ import annotations

import re

import duckdb
import polars as pl

from contactpoint.linkage.normalise import PREPARE_VERSION, prepare
from contactpoint.linkage.splinkdb import fetch, register

TABLE = "lf_existing"
_HASH_SEED = 20261125
_VERSION = f"{PREPARE_VERSION}|polars {pl.__version__}"  # row hashes are per polars version


def _row_hashes(records: pl.DataFrame) -> pl.DataFrame:
    return records.select(
        pl.col("record_key").alias("unique_id"), records.hash_rows(seed=_HASH_SEED).alias("_h")
    )


def _current(con: duckdb.DuckDBPyConnection) -> bool:
    con.execute("CREATE TABLE IF NOT EXISTS cp_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    row = con.execute("SELECT value FROM cp_meta WHERE key = 'prepare_version'").fetchone()
    tables = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
    return row is not None and row[0] == _VERSION and TABLE in tables


def sync(
    con: duckdb.DuckDBPyConnection, records: pl.DataFrame, done: pl.DataFrame | None = None
) -> int:
    """Make ``lf_existing`` hold exactly ``prepare(records)``; returns how many rows were
    prepared afresh. ``records``: a record frame (no ``child_key``/``shielded``); ``done``:
    ``prepare(records)`` when the caller has it already (a first link run)."""
    wanted = _row_hashes(records)
    con.execute("BEGIN TRANSACTION")
    try:
        with register(con, "__cp_wanted", wanted):
            if _current(con):
                con.execute(
                    f"DELETE FROM {TABLE} e WHERE NOT EXISTS (SELECT 1 FROM __cp_wanted w "  # noqa: S608 - internal names only
                    "WHERE w.unique_id = e.unique_id AND w._h = e._h)"
                )
                todo = fetch(
                    con,
                    f"SELECT unique_id FROM __cp_wanted w WHERE NOT EXISTS (SELECT 1 FROM "  # noqa: S608 - internal names only
                    f"{TABLE} e WHERE e.unique_id = w.unique_id)",
                )
                keys = todo.get_column("unique_id").implode()
                fresh_records = records.filter(pl.col("record_key").is_in(keys))
                fresh = prepare(fresh_records).join(wanted, on="unique_id")
                if fresh.height:
                    with register(con, "__cp_fresh", fresh):
                        con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM __cp_fresh")  # noqa: S608 - internal names only
            else:
                fresh = (prepare(records) if done is None else done).join(wanted, on="unique_id")
                with register(con, "__cp_fresh", fresh):
                    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT * FROM __cp_fresh")  # noqa: S608 - internal names only
                con.execute(
                    "INSERT OR REPLACE INTO cp_meta VALUES ('prepare_version', ?)", [_VERSION]
                )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return fresh.height


def columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The prepared columns (without the content hash), in table order."""
    names = [r[0] for r in con.execute(f"DESCRIBE {TABLE}").fetchall()]
    return [n for n in names if n != "_h"]


_SIDE = r"(?:substr\((?P<{s}f>{s}\.\w+), (?P<{s}a>\d+), (?P<{s}n>\d+)\)|(?P<{s}c>{s}\.\w+))"
_EQUALITY = re.compile(r"^" + _SIDE.format(s="l") + r" = " + _SIDE.format(s="r") + r"$")


def _conjuncts(rule: str) -> list[str]:
    """Top-level ``AND`` parts of a blocking rule (parenthesised groups kept whole)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(rule):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and rule.startswith(" AND ", i):
            parts.append(rule[start:i].strip())
            start = i + 5
    parts.append(rule[start:].strip())
    return parts


def _side(m: re.Match[str], s: str, alias: str) -> str:
    column = m.group(f"{s}c") or m.group(f"{s}f")
    expr = column.replace(f"{s}.", f"{alias}.", 1)
    if m.group(f"{s}c"):
        return expr
    return f"substr({expr}, {m.group(f'{s}a')}, {m.group(f'{s}n')})"


def candidate_sql(rules: list[str], existing: str, new: str) -> str | None:
    """SQL selecting the ``unique_id`` of every ``existing`` record that some blocking rule
    could pair with a ``new`` record: per rule, a join on its column equalities alone (a
    superset of the rule's pairs). ``None`` if a rule has no such equality (then every
    existing record is a candidate)."""
    selects: list[str] = []
    for rule in rules:
        matches = [m for part in _conjuncts(rule) if (m := _EQUALITY.match(part))]
        if not matches:
            return None
        # the existing record may be either side of the rule (once, if the rule is symmetric)
        symmetric = all(_side(m, "l", "x") == _side(m, "r", "x") for m in matches)
        for left, right in (("e", "n"),) if symmetric else (("e", "n"), ("n", "e")):
            on = " AND ".join(f"{_side(m, 'l', left)} = {_side(m, 'r', right)}" for m in matches)
            select = f"SELECT e.unique_id FROM {existing} e JOIN {new} n ON {on}"  # noqa: S608 - the model's own rules
            if select not in selects:
                selects.append(select)
    return " UNION ".join(selects)
