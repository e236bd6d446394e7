"""Search's Python form of the comparison levels agrees with DuckDB, level by level.

Linkage runs the model's ``sql_condition`` texts in DuckDB (Splink); search compiles the same
texts to Python (:mod:`contactpoint.matching.sqlcond`). Every level of both address treatments
is evaluated both ways on the same (query, candidate) pairs: noisy names (typos, nicknames,
transliterations, swapped fields), swapped days and months, near and far postcodes, NULLs.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl
import pytest

from contactpoint.matching import engine
from contactpoint.matching.model import base_settings
from contactpoint.matching.query import LIST_COLUMNS, SEARCH_KEY_SCHEMA
from contactpoint.matching.sqlcond import Unsupported, compile_condition
from names import FAMILY, GIVEN

VARIANTS = ["Alex", "Alexander", "Sasha", "Mohammed", "Muhammad", "Mohamad", "Zoë", "Zoe",
            "Katelyn", "Baby Katelyn", "Smith-Jones", "O'Brien", "Müller", "Mueller", "Khan",
            "Kahn", "Siobhan", "Shivaun", "Jon", "John", "Jonathan"]
POSTCODES = ["LS6 2AB", "LS6 2AD", "LS6 3XY", "LS1 1AA", "M1 1AA", "SW1A 1AA", "LS6", "M1"]


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 3:
        return name + "e"
    i = rng.randrange(len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def _records(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool_given = [*GIVEN, *VARIANTS]
    pool_family = [*FAMILY, *VARIANTS]
    out = []
    for i in range(n):
        given = rng.choice(pool_given)
        family = rng.choice(pool_family)
        if rng.random() < 0.3:
            given = _typo(given, rng)
        if rng.random() < 0.1:
            given, family = family, given
        dob = date(2010, 1, 1) + timedelta(days=rng.randrange(0, 200))
        if rng.random() < 0.2:
            dob = date(dob.year, dob.day, dob.month) if dob.day <= 12 else dob
        out.append({
            "record_key": i + 1,
            "given_name": given if rng.random() > 0.05 else None,
            "family_name": family,
            "former_family_name": rng.choice(FAMILY) if rng.random() < 0.1 else None,
            "date_of_birth": dob if rng.random() > 0.05 else None,
            "sex": rng.choice(["M", "F", None]),
            "postcode": rng.choice([*POSTCODES[:6], None]),
            "town": rng.choice(["Leeds", "Manchester", None]),
            "nhs_number": rng.choice(["9434765919", "9434765870", None, None]),
            "upn": rng.choice(["A123456789012", None, None]),
        })
    return out


def _pairs() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(query rows as the scorer reads them, candidate rows as search_key stores them)."""
    rng = random.Random(5)
    recs = _records(90, 3)
    frame = pl.DataFrame(
        [{**r, "source_code": "A"} for r in recs],
        schema_overrides={"date_of_birth": pl.Date(), "former_family_name": pl.Utf8(),
                          "given_name": pl.Utf8(), "nhs_number": pl.Utf8(), "upn": pl.Utf8(),
                          "sex": pl.Utf8(), "postcode": pl.Utf8(), "town": pl.Utf8()})
    cands = engine.search_keys(frame).to_dicts()
    queries = []
    for r in [*recs[:40], *_records(30, 4)]:  # the candidates themselves, noised, and others
        r = dict(r)
        if rng.random() < 0.4 and r["given_name"]:
            r["given_name"] = _typo(r["given_name"], rng)
        d = r["date_of_birth"]
        if d is not None and d.day <= 12 and rng.random() < 0.4:
            r["date_of_birth"] = date(d.year, d.day, d.month)
        elif d is not None and rng.random() < 0.3:
            r["date_of_birth"] = d + timedelta(days=rng.choice([1, 10, 31, 365]))
        shape = rng.choice([("given_name", "family_name", "date_of_birth"),
                            ("family_name", "date_of_birth", "postcode"),
                            ("given_name", "date_of_birth", "postcode", "sex", "town"),
                            ("nhs_number",), ("upn",), tuple(r)])
        q = {k: r[k] for k in shape if k in r and k not in ("record_key", "former_family_name")}
        if "postcode" in q and rng.random() < 0.5:
            q["postcode"] = rng.choice(POSTCODES)
        queries.append(engine.query_keys(engine.QueryRecord(**q)))
    return queries, cands


def _levels(household: bool) -> list[str]:
    return [lv["sql_condition"] for comp in base_settings(household)["comparisons"]
            for lv in comp["comparison_levels"] if lv["sql_condition"].strip() != "ELSE"]


@pytest.mark.parametrize("household", [True, False])
def test_every_level_compiles_and_agrees_with_duckdb(household: bool) -> None:
    queries, cands = _pairs()
    levels = _levels(household)
    cols = sorted({c for sql in levels for c in compile_condition(sql)[1]})
    con = duckdb.connect()
    select = []
    for c in cols:
        typ = "VARCHAR[]" if c in LIST_COLUMNS else "VARCHAR"
        for side in "lr":
            select.append(f"CAST(NULL AS {typ}) AS {c}_{side}" if c not in SEARCH_KEY_SCHEMA
                          else f"{c}_{side}")
    rows_l, rows_r = [], []
    for q in queries:
        for c in cands:
            rows_l.append(q)
            rows_r.append(c)
    data: dict[str, list[Any]] = {}
    for c in cols:
        if c not in SEARCH_KEY_SCHEMA:
            continue
        data[f"{c}_l"] = [q.get(c) for q in rows_l]
        data[f"{c}_r"] = [r.get(c).split(" ") if c in LIST_COLUMNS and r.get(c) else r.get(c)
                          for r in rows_r]
    pairs = pl.DataFrame(data, schema={k: (pl.List(pl.Utf8()) if k[:-2] in LIST_COLUMNS
                                           else pl.Utf8()) for k in data})
    con.register("pairs", pairs.to_arrow())
    checked = exercised = 0
    for sql in levels:
        want = [bool(v) for (v,) in con.execute(
            f"SELECT COALESCE(({sql}), FALSE) FROM (SELECT {', '.join(select)} FROM pairs)"
        ).fetchall()]
        test, needs = compile_condition(sql)
        right = [{k: (v.split(" ") if k in LIST_COLUMNS and isinstance(v, str) else v)
                  for k, v in r.items()} for r in rows_r]
        got = [bool(test(q, r)) for q, r in zip(rows_l, right, strict=True)]
        assert got == want, sql
        if needs <= set(SEARCH_KEY_SCHEMA) and "IS NULL" not in sql:
            assert any(want), sql  # the data exercise it both ways
            assert not all(want), sql
            exercised += 1
        checked += len(want)
    assert checked > 100_000
    assert exercised >= 15


def test_three_valued_logic_and_refusals() -> None:
    test, cols = compile_condition("fn_l = fn_r OR sn_l IS NULL")
    assert cols == {"fn", "sn"}
    assert test({"fn": None, "sn": "x"}, {"fn": "a"}) is None  # NULL OR FALSE
    assert test({"fn": None, "sn": None}, {"fn": "a"}) is True
    both, _ = compile_condition("fn_l = fn_r AND NOT (sn_l = sn_r)")
    assert both({"fn": "a", "sn": "x"}, {"fn": "a", "sn": "y"}) is True
    assert both({"fn": "b", "sn": None}, {"fn": "a", "sn": "y"}) is False  # FALSE AND NULL
    assert compile_condition("CAST(substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AS INTEGER) + 1 = 2"
                             )[0]({"dob": "2015-01-02"}, {"dob": "2015-03-04"}) is True
    for bad in ("regexp_matches(fn_l, 'a')", "fn_l LIKE 'a%'", "fn = 1", "fn_l = ("):
        with pytest.raises(Unsupported):
            compile_condition(bad)
