"""The query scorer: the model's own comparisons compiled for partial-record queries."""

from __future__ import annotations

from datetime import date

import polars as pl

from contactpoint.matching import engine

RECORDS = pl.DataFrame({
    "record_key": [1, 2, 3, 4],
    "source_code": ["A"] * 4,
    "given_name": ["Alexander", "Sophie", "Mohammed", "Ella"],
    "family_name": ["Smith", "Smith", "Khan", "Jones"],
    "former_family_name": [None, None, None, "Brown"],
    "date_of_birth": [date(2015, 3, 4), date(2015, 3, 4), date(2012, 1, 2), date(2013, 5, 6)],
    "sex": ["M", "F", "M", "F"],
    "postcode": ["LS6 2AB", "LS6 2AB", "M1 1AA", "LS1 1AA"],
    "town": ["Leeds", "Leeds", "Manchester", "Leeds"],
    "nhs_number": ["9434765919", None, None, None],
    "upn": [None] * 4,
})


def _score(**query: object) -> pl.DataFrame:
    keys = engine.search_keys(RECORDS)
    scorer = engine.query_scorer(engine.load_model())
    q = engine.query_keys(engine.QueryRecord(**query))  # type: ignore[arg-type]
    return scorer.score(q, keys).frame.sort("weight", descending=True)


def test_keys_are_the_engines_own_normalisation() -> None:
    keys = engine.search_keys(RECORDS)
    assert keys.columns == list(engine.SEARCH_KEY_SCHEMA)
    row = keys.row(3, named=True)
    assert row["fn_canon"] == "eleanor"
    assert row["sn"] == "jones"
    assert set(row["sn_names"].split()) == {"jones", "brown"}
    assert row["pc_district"] == "LS1"
    assert row["dob"] == "2013-05-06"


def test_nickname_and_transliteration_score_high_and_the_twin_is_vetoed() -> None:
    found = _score(given_name="Alex", family_name="Smith", date_of_birth=date(2015, 3, 4))
    assert found["record_key"][0] == 1
    twin = found.filter(pl.col("record_key") == 2)
    assert twin["vetoed"][0]
    assert not found["vetoed"][0]
    translit = _score(given_name="Muhammad", family_name="Kahn", date_of_birth=date(2012, 1, 2))
    assert translit["record_key"][0] == 3
    assert translit["weight"][0] > 15


def test_an_agreeing_postcode_counts_for_a_query_not_against_it() -> None:
    """A query carries no street: the household levels it cannot reach fold into the postcode
    level, so an agreeing postcode adds evidence (the record-pair level alone subtracts)."""
    without = _score(family_name="Jones", date_of_birth=date(2013, 5, 6))
    with_pc = _score(family_name="Jones", date_of_birth=date(2013, 5, 6), postcode="ls11aa")
    district = _score(family_name="Jones", date_of_birth=date(2013, 5, 6), postcode="LS1")
    assert with_pc["weight"][0] > district["weight"][0] > without["weight"][0]


def test_former_surname_and_identifier() -> None:
    assert _score(given_name="Ella", family_name="Brown",
                  date_of_birth=date(2013, 5, 6))["record_key"][0] == 4
    by_nhs = _score(nhs_number="9434765919")
    assert by_nhs["record_key"][0] == 1
    assert by_nhs["weight"][0] > 20


def test_confidences_share_probability_between_near_identical_children() -> None:
    assert engine.confidences([], 100) == []
    one = engine.confidences([40.0], 1_000_000)
    assert one[0] > 0.99
    two = engine.confidences([40.0, 40.0], 1_000_000)
    assert abs(two[0] - two[1]) < 1e-12
    assert two[0] < 0.5
    weak = engine.confidences([10.0], 1_000_000)  # far less than one in a million
    assert weak[0] < 0.01
    assert sum(engine.confidences([30.0, 25.0, 5.0], 10_000)) <= 1.0


def test_query_keys_are_what_prepare_derives_for_the_same_fields() -> None:
    samples = [
        ("Alex", "Smith-Jones", date(2015, 3, 4), "M", "ls6 2ab", "Leeds", "9434765919"),
        ("Baby", "O'Brien", date(2020, 1, 2), "F", "SW1A 1AA", "King's Lynn", None),
        ("Zoë Anne", "Müller", None, None, None, None, None),
        ("Mohammed", "Khan", date(2012, 1, 2), None, "M1 1AA", None, None),
    ]
    for given, family, dob, sex, pc, town, nhs in samples:
        full, _ = engine.normalise_postcode(pc)
        frame = pl.DataFrame({
            "record_key": [1], "source_code": ["Q"], "given_name": [given],
            "family_name": [family], "date_of_birth": [dob], "sex": [sex], "postcode": [full],
            "town": [town], "nhs_number": [nhs]})
        prepared = engine.search_keys(frame).row(0, named=True)
        keys = engine.query_keys(engine.QueryRecord(
            given_name=given, family_name=family, date_of_birth=dob, sex=sex, postcode=pc,
            town=town, nhs_number=nhs))
        for column, value in prepared.items():
            if column in ("record_key", "sn_former"):
                continue
            mine = keys[column]
            if column in ("fn_names", "sn_names"):
                mine = " ".join(mine) if mine else None
            assert mine == value, (given, column)


def test_a_district_that_disagrees_counts_against_the_candidate() -> None:
    """Only a district in the query: a candidate elsewhere is not 'null' on the home."""
    here = _score(given_name="Ella", date_of_birth=date(2013, 5, 6), postcode="LS1")
    elsewhere = _score(given_name="Ella", date_of_birth=date(2013, 5, 6), postcode="M1")
    nowhere = _score(given_name="Ella", date_of_birth=date(2013, 5, 6))
    assert here["weight"][0] > nowhere["weight"][0] > elsewhere["weight"][0]
    assert elsewhere["gamma_household"][0] == 0


def _twin_rows(**other: object) -> list[dict[str, object]]:
    """Key rows of twins (children 1 and 2, records 1-3) and a child elsewhere (3)."""
    keys = engine.search_keys(RECORDS).to_dicts()
    alex, sophie = keys[0], keys[1]
    stale = {**sophie, "record_key": 9, "pc": None, "pc_sector": None, "pc_district": None}
    return [{**alex, "child_key": 1}, {**sophie, "child_key": 2}, {**stale, "child_key": 2},
            {**keys[2], "child_key": 3, **other}]


def test_twins_are_indistinguishable_without_a_forename_and_distinct_with_one() -> None:
    no_forename = engine.query_keys(engine.QueryRecord(
        family_name="Smith", date_of_birth=date(2015, 3, 4), postcode="LS6 2AB"))
    groups = engine.indistinguishable(no_forename, _twin_rows())
    assert groups == {1: 1, 2: 1, 3: 3}
    named = engine.query_keys(engine.QueryRecord(
        given_name="Sophie", family_name="Smith", date_of_birth=date(2015, 3, 4)))
    assert engine.indistinguishable(named, _twin_rows()) == {1: 1, 2: 2, 3: 3}
    # sex in the query separates a brother from a sister
    with_sex = engine.query_keys(engine.QueryRecord(
        family_name="Smith", date_of_birth=date(2015, 3, 4), postcode="LS6 2AB", sex="F"))
    assert engine.indistinguishable(with_sex, _twin_rows()) == {1: 1, 2: 2, 3: 3}
    # an identifier alone: two children share a group only if their records share it
    by_nhs = engine.query_keys(engine.QueryRecord(nhs_number="9434765919"))
    assert engine.indistinguishable(by_nhs, _twin_rows(nhs="9434765919")) == {
        1: 1, 2: 2, 3: 1}
