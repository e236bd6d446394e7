"""Blocking: the batch run's blocked pairs and a day's pairs, against Splink's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from splink import Linker

from contactpoint.matching import blocking, scoring
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.model import gamma, prediction_rules
from contactpoint.matching.normalise import prepare
from contactpoint.matching.splinkdb import connect, fetch, linker_for, load_table

Loaded = tuple[pl.DataFrame, duckdb.DuckDBPyConnection, Linker]


@pytest.fixture
def loaded(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path,
) -> Iterator[Loaded]:
    """The fixed population's records, prepared as table ``lf``, and a Splink linker over it."""
    records, _, _ = synth_population
    con = connect(tmp_path)
    load_table(con, "lf", prepare(records))
    linker, _, _ = linker_for(con, ["lf"], default_model.splink_settings)
    yield records, con, linker
    con.close()


def test_blocked_pairs_are_exactly_splinks_own(
    loaded: Loaded, default_model: ModelArtefact
) -> None:
    records, con, linker = loaded
    theirs = linker.inference.compute_blocked_pairs_for_predict()
    splink = fetch(con, f"SELECT match_key, join_key_l, join_key_r FROM {theirs.physical_name}")
    rules = prediction_rules(default_model.splink_settings)
    ours = fetch(con, blocking.blocked_pairs_sql(rules, "lf"))
    key = ["join_key_l", "join_key_r"]
    assert splink.height > records.height
    assert splink["match_key"].n_unique() >= 10  # most rules add pairs of their own
    assert ours.sort(key).equals(splink.select(ours.columns).sort(key))  # same pairs, same rule


@pytest.mark.parametrize("narrow", [False, True], ids=["model's rules", "narrowed rules"])
def test_rules_joined_over_codes_block_the_same_pairs_as_over_the_records(
    loaded: Loaded, default_model: ModelArtefact, narrow: bool
) -> None:
    _, con, _ = loaded
    rules = (scoring.scored_rules(default_model) if narrow
             else prediction_rules(default_model.splink_settings))
    codes = blocking.coded(rules, "lf", "lf_codes")
    assert codes is not None
    con.execute(codes.table_sql)
    key = ["join_key_l", "join_key_r"]
    plain = fetch(con, blocking.blocked_pairs_sql(rules, "lf")).sort(key)
    over_codes = fetch(con, blocking.blocked_pairs_sql(codes.rules, "lf_codes")).sort(key)
    assert plain.height > 0
    assert over_codes.equals(plain)  # the same pairs, each under the same first rule


def test_rules_with_anything_but_equality_and_null_tests_are_not_coded() -> None:
    """A code match can only add a pair to an equality; under ``NOT`` or ``<`` it could lose
    one, and a distance needs the text."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (unique_id INT, fn VARCHAR, sn VARCHAR, dob VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'amy', 'smith', '2015-01-02'), "
                "(2, 'smith', 'amy', '2015-01-02'), (3, NULL, 'amy', '2015-03-04'), "
                "(4, NULL, 'amy', '2015-03-09')")
    codes = blocking.coded(["l.fn = r.sn AND l.sn = r.fn",
                            "(l.fn IS NULL OR r.fn IS NULL) AND l.sn = r.sn "
                            "AND substr(l.dob, 1, 7) = substr(r.dob, 1, 7)"], "t", "t_codes")
    assert codes is not None
    con.execute(codes.table_sql)
    assert con.execute(blocking.blocked_pairs_sql(codes.rules, "t_codes") + " ORDER BY 2"
                       ).fetchall() == [("0", 1, 2), ("1", 3, 4)]
    for rule in ("NOT l.fn = r.fn", "l.dob < r.dob", "levenshtein(l.fn, r.fn) <= 1",
                 "l.fn = r.fn AND l.sn = 'smith'", "coalesce(l.fn = r.fn, true)"):
        assert blocking.coded([rule], "t", "t_codes") is None, rule


def test_new_pairs_pair_new_records_with_existing_ones_either_side_and_with_each_other() -> None:
    rules = ["l.dob = r.dob AND l.fn = r.sn", "substr(l.dob, 1, 7) = substr(r.dob, 1, 7) "
             "AND (l.pc IS NULL OR r.pc IS NULL OR r.pc = l.pc)"]
    assert not blocking.symmetric(rules[0])
    assert blocking.symmetric(rules[1])
    assert blocking.symmetric("(r.pc IS NULL OR l.pc IS NULL) AND l.sn = r.sn")
    sql = blocking.new_pairs_sql(rules, "ex", "nw")
    con = duckdb.connect()
    for table in ("ex", "nw"):
        con.execute(f"CREATE TABLE {table} (unique_id INT, dob VARCHAR, fn VARCHAR, sn VARCHAR, "
                    "pc VARCHAR)")
    con.execute("INSERT INTO ex VALUES (1, '2015-01-02', 'smith', 'amy', 'AB1'), "
                "(2, '2015-01-02', 'amy', 'jones', 'XY9'), (3, '2016-05-05', 'x', 'y', NULL), "
                "(4, '2015-01-30', 'q', 'q', NULL), (5, '2015-01-30', 'q', 'q', 'AB1'), "
                "(6, '2015-01-02', 'ann', 'amy', 'AB1'), (7, '2015-01-02', 'smith', 'x', 'XY9')")
    con.execute("INSERT INTO nw VALUES (9, '2015-01-02', 'amy', 'smith', 'XY9'), "
                "(10, '2016-05-05', 'y', 'x', 'ZZ1'), (11, '2016-05-05', 'y', 'z', 'ZZ1')")
    got = con.execute(sql + " ORDER BY 2, 3").fetchall()
    # with 9: 1 (its fn is 9's sn: existing on the left of the asymmetric rule), 6 (its sn is
    # 9's fn: on the right), 2 and 4 (same month, the postcode agrees or is missing), 7 (by
    # both rules: counted under the first); 5 has the month but another postcode.
    # 3 with 10 (3's fn is 10's sn) and with 11 (11's fn is 3's sn: the new record on the
    # left); 10 with 11: two new records (same month and postcode); 1 with 7: both existing
    assert got == [("0", 1, 9), ("1", 2, 9), ("0", 3, 10), ("0", 3, 11), ("1", 4, 9),
                   ("0", 6, 9), ("0", 7, 9), ("1", 10, 11)]


def test_batch_predictions_are_splinks_own(loaded: Loaded, default_model: ModelArtefact) -> None:
    from contactpoint.matching.scoring import predict_pairs

    records, con, linker = loaded
    floor = default_model.rules.score_floor_weight
    theirs = linker.inference.predict(threshold_match_weight=floor, warning_mode="never")
    con.execute("CREATE TABLE pairs AS "
                + blocking.blocked_pairs_sql(prediction_rules(default_model.splink_settings), "lf"))
    ours = predict_pairs(con, "lf", "pairs", default_model.splink_settings, floor)
    cols = "unique_id_l, unique_id_r, match_key, match_weight, match_probability"
    got = [fetch(con, f"SELECT {cols} FROM {t.physical_name} ORDER BY unique_id_l, unique_id_r")
           for t in (ours, theirs)]
    assert got[0].height > records.height
    assert got[0].equals(got[1])


def test_new_pairs_score_as_splinks_predict_between_and_within(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path,
) -> None:
    """A day's records are scored once over our pairs; Splink's ``predict_between`` (existing
    x new) and ``predict_within`` (new x new) score the same pairs alike."""
    from contactpoint.matching.scoring import TF_COLUMNS, predict_pairs

    records, _, _ = synth_population
    settings, floor = default_model.splink_settings, default_model.rules.score_floor_weight
    lf = prepare(records)
    new_keys = lf["unique_id"].sample(400, seed=3)
    con = connect(tmp_path)
    load_table(con, "lf_new", lf.filter(pl.col("unique_id").is_in(new_keys.implode())))
    load_table(con, "lf_ex", lf.filter(~pl.col("unique_id").is_in(new_keys.implode())))
    load_table(con, "lf_all", lf)
    con.execute("CREATE TABLE pairs AS "
                + blocking.new_pairs_sql(prediction_rules(settings), "lf_ex", "lf_new"))
    ours = predict_pairs(con, "lf_all", "pairs", settings, floor,
                         frequencies_over=("lf_ex", "lf_new"))
    linker, db_api, _ = linker_for(con, ["lf_all"], settings)
    ex, nw = (db_api.register(t, table_name=f"in_{t}") for t in ("lf_ex", "lf_new"))
    for col in TF_COLUMNS:  # the tables predict_pairs made
        linker.table_management.register_term_frequency_lookup(
            db_api.register(f"tf_lookup_{col}", table_name=f"in_tf_{col}"), col)
    between = linker.inference.predict_between(ex, nw, threshold_match_weight=floor,
                                               warning_mode="never")
    within = linker.inference.predict_within(nw, threshold_match_weight=floor,
                                             warning_mode="never")
    pair = ("SELECT least(unique_id_l, unique_id_r) AS a, greatest(unique_id_l, unique_id_r) "
            "AS b, match_probability AS p FROM {}")
    got = fetch(con, pair.format(ours.physical_name) + " ORDER BY a, b")
    want = fetch(con, f"{pair.format(between.physical_name)} UNION ALL "
                      f"{pair.format(within.physical_name)} ORDER BY a, b")
    con.close()
    assert got.height > 400
    assert got.select("a", "b").equals(want.select("a", "b"))
    assert (got["p"] - want["p"]).abs().max() < 1e-9  # type: ignore[operator]


def test_a_filter_is_added_only_to_rules_it_can_narrow() -> None:
    rules = ["l.dob = r.dob AND l.sn = r.sn", "l.sn = r.sn AND l.pc = r.pc",
             "l.pc = r.pc AND (r.dob = l.dob OR l.town = r.town)"]
    got = blocking.narrowed(rules, "l.sex = r.sex", ["l.dob = r.dob"])
    assert got[0] == rules[0]  # its own l.dob = r.dob implies the filter
    assert got[1] == f"({rules[1]}) AND l.sex = r.sex"
    assert got[2] == f"({rules[2]}) AND l.sex = r.sex"  # inside an OR it implies nothing
    assert blocking.narrowed(["r.dob = l.dob"], "x", ["l.dob = r.dob"]) == ["r.dob = l.dob"]


def test_pairs_left_unscored_are_ones_the_person_veto_refuses_whatever_else_agrees(
    loaded: Loaded, default_model: ModelArtefact
) -> None:
    """Siblings at one home (forenames not even roughly one name, dates of birth wholly
    different, no identifier shared) are not scored: every pair left out is one ``v_person``
    vetoes on the forename and date of birth alone."""
    records, con, _ = loaded
    key = ["join_key_l", "join_key_r"]
    every = fetch(con, blocking.blocked_pairs_sql(
        prediction_rules(default_model.splink_settings), "lf"))
    kept = fetch(con, blocking.blocked_pairs_sql(scoring.scored_rules(default_model), "lf"))
    assert kept.join(every, on=key, how="anti").is_empty()  # a narrowing, nothing new
    left_out = every.join(kept, on=key, how="anti")
    assert left_out.height > records.height / 4  # siblings are many
    con.register("pairs", every.to_arrow())
    pred = scoring.predict_pairs(con, "lf", "pairs",
                                 default_model.splink_settings, floor_weight=-1e9)
    st = default_model.splink_settings
    vetoes = fetch(con, f"""
        SELECT l, r, v_person, gamma_forename < {gamma(st, "forename", "exact")}
          AND gamma_dob = {gamma(st, "dob", "else")} AND NOT shared_id AS whatever_else
        FROM ({scoring.veto_select(pred.physical_name, True, st)}) AS v
        JOIN {pred.physical_name} AS p ON p.unique_id_l = v.l AND p.unique_id_r = v.r""")
    out = left_out.select(pl.col("join_key_l").alias("l"), pl.col("join_key_r").alias("r"))
    left = vetoes.join(out, on=["l", "r"], how="semi")
    assert left.height == out.height
    assert left["v_person"].all()
    assert left["whatever_else"].all()


def _records_with_gaps() -> duckdb.DuckDBPyConnection:
    """Every combination of a few values, missing ones included, for three columns."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT row_number() OVER () AS unique_id, * FROM "
                "(VALUES ('a'), ('b'), (NULL)) n(num) CROSS JOIN "
                "(VALUES ('x1'), ('x2'), ('y1'), (NULL)) p(pc) CROSS JOIN "
                "(VALUES ('x'), ('y'), (NULL)) d(dist) CROSS JOIN "
                "(VALUES ('ann'), ('amy'), ('bo'), (NULL)) f(fn)")
    return con


def _pairs(con: duckdb.DuckDBPyConnection, condition: str) -> list[tuple[int, int]]:
    return con.execute(f"SELECT l.unique_id, r.unique_id FROM t l JOIN t r ON ({condition}) "
                       "AND l.unique_id < r.unique_id ORDER BY 1, 2").fetchall()


@pytest.mark.parametrize("rule", [
    "l.num = r.num AND (l.pc IS NULL OR r.pc IS NULL OR l.dist = r.dist)",
    "(l.num = r.num AND (r.pc IS NULL OR l.dist = r.dist)) "
    "AND (substr(l.fn, 1, 1) = substr(r.fn, 1, 1) OR l.pc = r.pc)",
    "l.num = r.num AND (l.fn IS NULL OR l.pc = r.pc) AND (l.dist = r.dist OR r.fn = 'bo')",
    "l.num = r.num OR l.pc = r.pc",  # two hash joins, not a nested loop
])
def test_a_rule_joined_in_parts_finds_each_of_its_pairs_in_exactly_one_part(rule: str) -> None:
    """Missing values included: an alternative that is NULL is not true, as in the whole rule."""
    con = _records_with_gaps()
    parts = blocking.parts(rule)
    assert len(parts) > 1
    whole = _pairs(con, rule)
    found = [pair for part in parts for pair in _pairs(con, part)]
    assert len(whole) > 20
    assert sorted(found) == whole  # the same pairs, none twice


def test_an_or_a_join_can_neither_key_on_nor_push_below_it_stays_a_filter() -> None:
    for rule in ("l.num = r.num AND (l.pc IS NULL OR l.dist < r.dist)",
                 "l.num = r.num AND (l.pc = r.pc AND l.fn = r.fn OR l.dist = r.dist)",
                 "l.num = r.num AND (levenshtein(l.fn, r.fn) <= 1 OR l.pc = r.pc)"):
        assert blocking.parts(rule) == (rule,), rule
    many = " AND ".join(f"(l.c{i} IS NULL OR r.c{i} IS NULL)" for i in range(5))
    assert len(blocking.parts(many)) == blocking.MAX_PARTS  # 2^4; the fifth stays a filter
