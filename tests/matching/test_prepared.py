"""The persistent prepared-records store of existing records."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from contactpoint.matching import prepared
from contactpoint.matching.frame import Existing
from contactpoint.matching.splinkdb import connect, fetch

from .conftest import frame, record


def _whole(rows: list[dict[str, object]]) -> Existing:
    df = frame(rows)
    return Existing.whole(df.with_columns((pl.col("record_key") * 10).alias("child_key")))


def test_update_prepares_only_new_or_changed_records(tmp_path: Path) -> None:
    con = connect(tmp_path, "p.duckdb")
    rows = [record(i, given_name=g) for i, g in enumerate(["Amy", "Ben", "Cara"], start=1)]
    assert prepared.mark(con) is None
    assert prepared.update(con, _whole(rows)) == 3
    assert prepared.update(con, _whole(rows)) == 0  # nothing changed: nothing prepared
    rows[1] = record(2, given_name="Benjamin")
    rows.append(record(4, given_name="Dan"))
    assert prepared.update(con, _whole(rows[1:])) == 2  # 2 changed, 4 new; 1 gone
    got = fetch(con, f"SELECT unique_id, fn FROM {prepared.TABLE} ORDER BY unique_id")
    assert got.rows() == [(2, "benjamin"), (3, "cara"), (4, "dan")]
    con.close()


def test_changes_apply_only_at_the_mark_they_were_read_since(tmp_path: Path) -> None:
    con = connect(tmp_path, "p.duckdb")
    rows = [record(i, given_name=g) for i, g in enumerate(["Amy", "Ben", "Cara"], start=1)]
    prepared.update(con, Existing(_whole(rows).records, mark="m1"))
    assert prepared.mark(con) == "m1"
    ben = _whole([record(2, given_name="Benjamin")]).records
    changes = Existing(ben, mark="m2", since="m1", changed=pl.Series([1, 2]),
                       shielded_children=pl.Series([20]))
    assert prepared.update(con, changes) == 1
    assert prepared.mark(con) == "m2"
    got = fetch(con, f"SELECT e.unique_id, e.fn, c.child_key FROM {prepared.TABLE} e "
                     f"JOIN {prepared.CHILDREN} c USING (unique_id) ORDER BY unique_id")
    assert got.rows() == [(2, "benjamin", 20), (3, "cara", 30)]  # 1 gone, 2 changed
    assert fetch(con, f"SELECT * FROM {prepared.SHIELDED}").rows() == [(20,)]
    with pytest.raises(prepared.StaleStore):
        prepared.update(con, changes)  # the store is at m2 now
    con.close()


def test_match_new_reuses_the_prepared_store(tmp_path: Path) -> None:
    from contactpoint.matching.engine import load_model, match_new

    existing = Existing.whole(frame([record(1), record(2, given_name="Grace")]).with_columns(
        pl.Series("child_key", [10, 20])))
    new = frame([record(5, source_code="HMRC-CHB", date_of_birth=date(2016, 3, 14))])
    model = load_model()
    first = match_new(existing, new, model, tmp_path)
    again = match_new(existing, new, model, tmp_path)  # the store is warm now
    assert first.equals(again)
    assert first["child_key"].to_list() == [10]


def test_changes_take_staged_records_whose_content_still_matches(tmp_path: Path) -> None:
    """Records staged while new (as ``match_new`` stages them) are copied into the store when
    changes name them with the same content; a record that changed since is prepared again.
    Either way the store holds what preparing every record afresh gives."""
    from contactpoint.matching.normalise import prepare

    con = connect(tmp_path, "p.duckdb")
    prepared.update(con, Existing(_whole([record(1, given_name="Amy")]).records, mark="m1"))
    new = frame([record(2, given_name="Ben"), record(3, given_name="Cara")])
    prepared.stage(con, new, prepare(new))
    now = _whole([record(2, given_name="Ben"), record(3, given_name="Carys")]).records
    changes = Existing(now, mark="m2", since="m1", changed=pl.Series([2, 3]),
                       shielded_children=pl.Series([], dtype=pl.Int64()))
    assert prepared.update(con, changes) == 1  # Ben taken as staged; Cara is Carys now
    kept = fetch(con, f"SELECT * FROM {prepared.TABLE} ORDER BY unique_id")
    con.close()

    full = connect(tmp_path, "full.duckdb")
    prepared.update(full, _whole([record(1, given_name="Amy"), record(2, given_name="Ben"),
                                  record(3, given_name="Carys")]))
    afresh = fetch(full, f"SELECT * FROM {prepared.TABLE} ORDER BY unique_id")
    full.close()
    assert kept.select(afresh.columns).equals(afresh)
    assert kept["fn"].to_list() == ["amy", "ben", "carys"]


@pytest.mark.parametrize("values", [
    [["amy", "rose"], [], None, ["x"]],
    [["amy", ""], [], None],  # an empty name: built as it is
    [["a\x1fb"], []],  # a name holding the separator: built as it is
    [None, None],
])
def test_lists_of_names_are_built_as_polars_builds_them(values: list[list[str] | None]) -> None:
    from contactpoint.matching.normalise import _series

    built = _series(values, pl.List(pl.Utf8()))
    assert built.to_list() == values
    assert built.equals(pl.Series(values, dtype=pl.List(pl.Utf8())))
