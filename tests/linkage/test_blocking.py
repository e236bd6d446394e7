"""Blocking: the batch run's blocked pairs and the candidate pre-selection for daily deltas."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from contactpoint.linkage import blocking
from contactpoint.linkage.artefact import ModelArtefact
from contactpoint.linkage.model import prediction_rules
from contactpoint.linkage.normalise import prepare
from contactpoint.linkage.splinkdb import connect, fetch, linker_for, load_table


def test_blocked_pairs_are_exactly_splinks_own(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path,
) -> None:
    records, _, _ = synth_population
    con = connect(tmp_path)
    load_table(con, "lf", prepare(records))
    linker, _, _ = linker_for(con, ["lf"], default_model.splink_settings)
    theirs = linker.inference.compute_blocked_pairs_for_predict()
    splink = fetch(con, f"SELECT match_key, join_key_l, join_key_r FROM {theirs.physical_name}")
    rules = prediction_rules(default_model.splink_settings)
    ours = fetch(con, blocking.blocked_pairs_sql(rules, "lf"))
    con.close()
    key = ["join_key_l", "join_key_r"]
    assert splink.height > 2 * records.height
    assert splink["match_key"].n_unique() >= 10  # most rules add pairs of their own
    assert ours.sort(key).equals(splink.select(ours.columns).sort(key))  # same pairs, same rule


def test_candidate_sql_selects_exactly_the_records_some_rule_pairs() -> None:
    rules = ["l.dob = r.dob AND l.fn = r.sn", "substr(l.dob, 1, 7) = substr(r.dob, 1, 7) "
             "AND (l.pc IS NULL OR r.pc IS NULL OR r.pc = l.pc)"]
    assert not blocking.symmetric(rules[0])
    assert blocking.symmetric(rules[1])
    assert blocking.symmetric("(r.pc IS NULL OR l.pc IS NULL) AND l.sn = r.sn")
    sql = blocking.candidate_sql(rules, "ex", "nw")
    con = duckdb.connect()
    for table in ("ex", "nw"):
        con.execute(f"CREATE TABLE {table} (unique_id INT, dob VARCHAR, fn VARCHAR, sn VARCHAR, "
                    "pc VARCHAR)")
    con.execute("INSERT INTO ex VALUES (1, '2015-01-02', 'smith', 'amy', 'AB1'), "
                "(2, '2015-01-02', 'amy', 'jones', 'XY9'), (3, '2016-05-05', 'x', 'y', NULL), "
                "(4, '2015-01-30', 'q', 'q', NULL), (5, '2015-01-30', 'q', 'q', 'AB1'), "
                "(6, '2015-01-02', 'ann', 'amy', 'AB1')")
    con.execute("INSERT INTO nw VALUES (9, '2015-01-02', 'amy', 'smith', 'XY9')")
    got = sorted(k for (k,) in con.execute(sql).fetchall())
    # 1: its fn = the new sn (existing on the left); 6: its sn = the new fn (existing on the
    # right of the asymmetric rule); 2 and 4: same month, postcode agrees or is missing;
    # 5: same month but another postcode (the equality alone would have taken it); 3: nothing
    assert got == [1, 2, 4, 6]




def test_batch_predictions_are_splinks_own(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path,
) -> None:
    from contactpoint.linkage.scoring import predict_all

    records, _, _ = synth_population
    con = connect(tmp_path)
    load_table(con, "lf", prepare(records))
    floor = default_model.rules.score_floor_weight
    linker, _, _ = linker_for(con, ["lf"], default_model.splink_settings)
    theirs = linker.inference.predict(threshold_match_weight=floor, warning_mode="never")
    ours = predict_all(con, "lf", default_model.splink_settings, floor)
    cols = "unique_id_l, unique_id_r, match_key, match_weight, match_probability"
    got = [fetch(con, f"SELECT {cols} FROM {t.physical_name} ORDER BY unique_id_l, unique_id_r")
           for t in (ours, theirs)]
    con.close()
    assert got[0].height > records.height
    assert got[0].equals(got[1])
