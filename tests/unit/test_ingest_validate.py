"""Vectorised validation: each check names the row, column and reason; normalisation."""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from contactpoint.domain.identifiers import (
    UPN_LETTERS,
    is_valid_nhs_number,
    is_valid_upn,
    upn_check_letter,
)
from contactpoint.ingest.columns import STAGE_COLUMNS
from contactpoint.ingest.validate import Rules, content_hashes, validate_batch

RULES = Rules(today=date(2026, 11, 25))
GOOD_UPN = upn_check_letter("801200001001") + "801200001001"


def row(**overrides: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "source_record_id": "K1", "given_name": "Amelia", "family_name": "Taylor",
        "date_of_birth": "2016-04-12", "sex": "F", "postcode": "ls10 1ab",
        "nhs_number": "943 476 5919", "upn": GOOD_UPN.lower(),
    }
    base.update(overrides)
    return base


def run(*rows: dict[str, str | None]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(list(rows)).with_columns(
        pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias("_row")
    )
    return validate_batch(frame, RULES, flat_extras=True)


def reasons(rejects: pl.DataFrame) -> list[tuple[int, str, str]]:
    return [(r["_row"], r["column"], r["reason"]) for r in rejects.iter_rows(named=True)]


def test_a_good_row_is_normalised() -> None:
    good, rejects = run(row())
    assert rejects.height == 0
    out = good.row(0, named=True)
    assert out["postcode"] == "LS10 1AB"
    assert out["nhs_number"] == "9434765919"
    assert out["upn"] == GOOD_UPN
    assert out["record_status"] == "active"
    assert out["carers"] == "[]"
    assert out["involvements"] == "[]"
    assert len(out["content_hash"]) == 64


def test_each_bad_value_is_rejected_with_row_column_and_reason() -> None:
    good, rejects = run(
        row(),
        row(source_record_id="K2", nhs_number="9434765918"),
        row(source_record_id="K3", upn="A801200001001"),
        row(source_record_id="K4", date_of_birth="2015-02-30"),
        row(source_record_id="K5", date_of_birth="12/04/2016"),
        row(source_record_id="K6", date_of_birth="2027-01-01"),
        row(source_record_id="K7", date_of_birth="1850-01-01"),
        row(source_record_id="K8", sex="X"),
        row(source_record_id="K9", given_name="  "),
        row(source_record_id="K10", record_status="gone"),
    )
    assert good.get_column("source_record_id").to_list() == ["K1"]
    got = reasons(rejects)
    assert (3, "nhs_number", "NHS number fails the modulus 11 check") in got
    assert (4, "upn", "UPN check letter does not match") in got
    assert (5, "date_of_birth", "not a real calendar date") in got
    assert (6, "date_of_birth", "not a date in YYYY-MM-DD form") in got
    assert (7, "date_of_birth", "date of birth is in the future") in got
    assert (8, "date_of_birth", "date of birth before 1900-01-01 is not plausible") in got
    assert (9, "sex", "must be M, F or U") in got
    assert (10, "given_name", "required") in got
    assert (11, "record_status", "must be one of active, deleted") in got
    assert rejects.filter(pl.col("_row") == 5).get_column("value").to_list() == ["2015-02-30"]


def test_enumerations_flags_and_service_dates() -> None:
    _good, rejects = run(
        row(service_type="dentist"),
        row(source_record_id="K2", parent_1_name="Sam", parent_1_parental_responsibility="maybe"),
        row(source_record_id="K3", service_start="2024-05-01", service_end="2024-04-01"),
        row(source_record_id="K4", assessment_status="done", sensitive_service="yes"),
        row(source_record_id="K5", parent_1_phone="0113 496 0000"),
    )
    got = {(r, c) for r, c, _ in reasons(rejects)}
    assert got == {
        (2, "service_type"), (3, "parent_1_parental_responsibility"), (4, "service_end"),
        (5, "assessment_status"), (5, "sensitive_service"), (6, "parent_1_name"),
    }


def test_a_foreign_postcode_becomes_address_text_not_a_reject() -> None:
    good, rejects = run(
        row(postcode="2600", address_line_1="12 Mill Lane"),
        row(source_record_id="K2", postcode="4035"),
    )
    assert rejects.height == 0
    first, second = good.iter_rows(named=True)
    assert (first["address_line_1"], first["address_line_2"], first["postcode"]) == (
        "12 Mill Lane", "2600", None)
    assert (second["address_line_1"], second["postcode"]) == ("4035", None)


def test_a_deleted_row_needs_only_its_key() -> None:
    good, rejects = run({"source_record_id": "K9", "record_status": "DELETED"})
    assert rejects.height == 0
    assert good.row(0, named=True)["record_status"] == "deleted"


def test_carers_and_involvements_are_built_from_flat_columns() -> None:
    good, _ = run(row(parent_1_name="Sarah Taylor", parent_1_parental_responsibility="y",
                      service_type="sexual_health", consent_to_disclose="Y",
                      service_start="2025-01-01"))
    out = good.row(0, named=True)
    assert '"parental_responsibility":true' in out["carers"]
    assert '"sensitive":true' in out["involvements"]
    assert '"consent_basis":"consent"' in out["involvements"]


def test_content_hash_ignores_status_but_not_content() -> None:
    good, _ = run(row(), row(source_record_id="K1", record_status="deleted"),
                  row(given_name="Amelie"))
    hashes = content_hashes(good.drop("content_hash")).to_list()
    assert hashes[0] == good.get_column("content_hash")[0]
    assert hashes[0] != hashes[2]


def test_json_leaves_out_null_keys_and_the_hash_is_the_documented_canonical_form() -> None:
    good, _ = run(row(parent_1_name='Sam "S" Lee', service_type="education",
                      service_org_code="107000", address_line_1="1 Long\nRoad"))
    out = good.row(0, named=True)
    assert out["carers"] == '[{"name":"Sam \\"S\\" Lee"}]'
    assert out["involvements"] == (
        '[{"service_type":"education","org_code":"107000","sensitive":false,'
        '"consent_basis":"not_given","assessment_status":"none","lead_professional":false}]'
    )
    # sha256 over the normalised fields in STAGE_COLUMNS order (record_status and the hash
    # itself left out), UTF-8, joined by U+001F, null as empty (docs/ingest.md)
    hashed = [c for c in STAGE_COLUMNS if c not in ("record_status", "content_hash")]
    canonical = "\x1f".join(out[c] or "" for c in hashed)
    assert out["content_hash"] == hashlib.sha256(canonical.encode()).hexdigest()


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_vectorised_nhs_check_agrees_with_the_domain(nhs: str) -> None:
    good, _ = run(row(nhs_number=nhs))
    assert (good.height == 1) == is_valid_nhs_number(nhs)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(UPN_LETTERS),
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.sampled_from("0123456789" + UPN_LETTERS),
)
def test_vectorised_upn_check_agrees_with_the_domain(first: str, digits: str, last: str) -> None:
    upn = first + digits + last
    good, _ = run(row(upn=upn))
    assert (good.height == 1) == is_valid_upn(upn)
