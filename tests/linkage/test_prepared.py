"""The persistent prepared-records store and the candidate pre-selection for daily deltas."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from contactpoint.linkage import prepared
from contactpoint.linkage.splinkdb import connect, fetch

from .conftest import frame, record


def test_sync_prepares_only_new_or_changed_records(tmp_path: Path) -> None:
    con = connect(tmp_path, "p.duckdb")
    rows = [record(i, given_name=g) for i, g in enumerate(["Amy", "Ben", "Cara"], start=1)]
    assert prepared.sync(con, frame(rows)) == 3
    assert prepared.sync(con, frame(rows)) == 0  # nothing changed: nothing prepared
    rows[1] = record(2, given_name="Benjamin")
    rows.append(record(4, given_name="Dan"))
    assert prepared.sync(con, frame(rows[1:])) == 2  # 2 changed, 4 new; 1 gone
    got = fetch(con, f"SELECT unique_id, fn FROM {prepared.TABLE} ORDER BY unique_id")
    assert got.rows() == [(2, "benjamin"), (3, "cara"), (4, "dan")]
    con.close()


def test_candidate_sql_covers_both_sides_of_every_rule() -> None:
    rules = ["l.dob = r.dob AND l.fn = r.sn", "substr(l.dob, 1, 7) = substr(r.dob, 1, 7) "
             "AND (l.pc IS NULL OR r.pc = l.pc)"]
    sql = prepared.candidate_sql(rules, "ex", "nw")
    assert sql is not None
    con = duckdb.connect()
    con.execute("CREATE TABLE ex (unique_id INT, dob VARCHAR, fn VARCHAR, sn VARCHAR)")
    con.execute("CREATE TABLE nw (unique_id INT, dob VARCHAR, fn VARCHAR, sn VARCHAR)")
    con.execute("INSERT INTO ex VALUES (1, '2015-01-02', 'smith', 'amy'), "
                "(2, '2015-01-02', 'amy', 'smith'), (3, '2016-05-05', 'x', 'y'), "
                "(4, '2015-01-30', 'q', 'q')")
    con.execute("INSERT INTO nw VALUES (9, '2015-01-02', 'amy', 'smith')")
    got = sorted(k for (k,) in con.execute(sql).fetchall())
    assert got == [1, 2, 4]  # 1: fn = new sn; 2: sn = new fn (other side); 4: same month
    assert prepared.candidate_sql(["l.pc IS NULL OR r.pc IS NULL"], "ex", "nw") is None


def test_match_new_reuses_the_prepared_store(tmp_path: Path) -> None:
    from contactpoint.linkage.engine import load_model, match_new
    from contactpoint.linkage.frame import conform

    existing = conform(frame([record(1), record(2, given_name="Grace")]).with_columns(
        pl.Series("child_key", [10, 20])), existing=True)
    new = frame([record(5, source_code="HMRC-CHB", date_of_birth=date(2016, 3, 14))])
    model = load_model()
    first = match_new(existing, new, model, tmp_path)
    again = match_new(existing, new, model, tmp_path)  # the store is warm now
    assert first.equals(again)
    assert first["child_key"].to_list() == [10]
