"""Incremental matching: link, review (clerical band, weak match to a shielded child), new."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import KEY_COLUMNS, MATCH_NEW_SCHEMA, match_new, search_keys
from contactpoint.matching.frame import Existing

from .conftest import frame, nhs, record


def _existing(rows: list[dict[str, object]], child: dict[int, int],
              shielded: set[int] = frozenset()) -> Existing:  # type: ignore[assignment]
    df = frame(rows).with_columns(
        pl.col("record_key").replace_strict(child, return_dtype=pl.Int64).alias("child_key"),
    )
    df = df.with_columns(pl.col("child_key").is_in(list(shielded)).alias("shielded"))
    return Existing.whole(df)


def test_new_records_link_review_or_create(default_model: ModelArtefact, tmp_path: Path) -> None:
    existing = _existing(
        [
            record(1, given_name="Amelia", nhs_number=nhs(1)),
            record(2, given_name="Grace", nhs_number=nhs(2)),  # Amelia's twin
            record(3, given_name="Oliver", family_name="Hughes", sex="M",
                   date_of_birth=date(2012, 1, 5), postcode="M1 3SL",
                   address_line_1="4 Mill Lane", town="Manchester", carer_names=None),
        ],
        {1: 100, 2: 200, 3: 300},
    )
    new = frame(
        [
            record(11, source_code="HMRC-CHB", given_name="Amelia"),  # -> child 100
            record(12, source_code="GRO-BIRTHS", given_name="Ruby",
                   date_of_birth=date(2026, 10, 1), nhs_number=nhs(3)),  # new sibling
            record(13, source_code="NHS-PDS", given_name="Ruby",
                   date_of_birth=date(2026, 10, 1), nhs_number=nhs(3)),  # same new child
            record(14, source_code="HMRC-CHB", given_name="Amelia", nhs_number=nhs(4)),
        ]
    )
    out = match_new(existing, new, default_model, tmp_path)
    assert out.select(list(MATCH_NEW_SCHEMA)).schema == pl.Schema(MATCH_NEW_SCHEMA)
    # each new record's search keys come back with it: those a separate preparation makes
    keys = out.select("record_key", *KEY_COLUMNS).sort("record_key")
    assert keys.equals(search_keys(new).sort("record_key"))
    by = {r["record_key"]: r for r in out.iter_rows(named=True)}
    assert by[11]["decision"] == "link"
    assert by[11]["child_key"] == 100
    assert by[12]["decision"] == "new"
    assert by[13]["decision"] == "new"
    assert by[12]["new_cluster_key"] == by[13]["new_cluster_key"] == 12
    # A valid NHS number different from every record of child 100: never linked to it.
    assert by[14]["decision"] != "link" or by[14]["child_key"] != 100


def test_weak_match_to_a_shielded_child_goes_to_review_never_new(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    existing = _existing(
        [record(1, given_name="Amelia", family_name="Okafor", nhs_number=nhs(1))],
        {1: 100},
        shielded={100},
    )
    # A diminutive, a double-barrelled surname, another home: well below auto-link, above
    # the floor. An unshielded child would get a new record; a shielded one gets a review.
    new = frame(
        [record(21, source_code="LA-CSC-330", given_name="Millie", family_name="Okafor-Reid",
                postcode="B3 9PD", town="Birmingham", address_line_1="7 Hay Street",
                carer_names=None)]
    )
    out = match_new(existing, new, default_model, tmp_path).row(0, named=True)
    assert out["decision"] == "review", out
    assert out["child_key"] == 100
    assert out["match_probability"] < default_model.rules.link_probability
    unshielded = _existing(
        [record(1, given_name="Amelia", family_name="Okafor", nhs_number=nhs(1))], {1: 100}
    )
    plain = match_new(unshielded, new, default_model, tmp_path / "plain").row(0, named=True)
    if plain["match_probability"] < default_model.rules.review_probability:
        assert plain["decision"] == "new"


def test_a_new_record_matching_two_existing_twins_goes_to_review(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    # Twins Maryam and Mariam are two existing children; a new record spelt "Maryam" with no
    # identifier matches both by name: it must not pick one.
    existing = _existing(
        [record(1, given_name="Maryam", nhs_number=nhs(1)),
         record(2, given_name="Mariam", nhs_number=nhs(2))],
        {1: 100, 2: 200},
    )
    new = frame([record(31, source_code="HMRC-CHB", given_name="Maryam")])
    out = match_new(existing, new, default_model, tmp_path).row(0, named=True)
    assert out["decision"] == "review", out
    assert out["child_key"] in (100, 200)


def test_a_new_record_under_a_keying_slip_joins_its_child_as_from_scratch(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    # The same reading of keying slips as ``dedupe`` (slips.py): a source's second record of
    # a child under a slip is no second child born that day; two UPNs under one forename once
    # the slip is read are a school move. Similar-named twins still never join one child.
    existing = _existing(
        [
            record(1, source_code="HMRC-CHB", given_name="Jeff", sex="M"),
            record(2, source_code="NHS-PDS", given_name="Jeff", sex="M", nhs_number=nhs(1)),
            record(3, source_code="DFE-CENSUS", given_name="Willow", family_name="Ross",
                   upn="X801200000001"),
            record(4, source_code="HMRC-CHB", given_name="Willow", family_name="Ross"),
            record(5, source_code="HMRC-CHB", given_name="Hana", family_name="Ali"),
            record(6, source_code="NHS-PDS", given_name="Hana", family_name="Ali",
                   nhs_number=nhs(2)),
        ],
        {1: 100, 2: 100, 3: 300, 4: 300, 5: 500, 6: 500},
    )
    new = frame([
        record(11, source_code="HMRC-CHB", given_name="Jfef", sex="M"),
        # a second UPN from the school Willow moved to (another establishment number)
        record(12, source_code="DFE-CENSUS", given_name="Willlow", family_name="Ross",
               upn="P801330120002"),
        # Hanna beside her twin Hana in one file: a name, not a slip
        record(13, source_code="HMRC-CHB", given_name="Hanna", family_name="Ali"),
    ])
    by = {r["record_key"]: r for r in
          match_new(existing, new, default_model, tmp_path).iter_rows(named=True)}
    assert (by[11]["decision"], by[11]["child_key"]) == ("link", 100), by[11]
    assert (by[12]["decision"], by[12]["child_key"]) == ("link", 300), by[12]
    assert not (by[13]["decision"] == "link" and by[13]["child_key"] == 500), by[13]
