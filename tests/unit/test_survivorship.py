"""Survivorship: authority, then recency, per field, with provenance."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.domain.record import Carer, Involvement, ServiceType, Sex, SourceRecord
from contactpoint.domain.sources import KNOWN_SOURCE_AUTHORITY, RecordField
from contactpoint.domain.survivorship import SourceView, assemble

TODAY = date(2026, 11, 25)


def view(key: int, source: str, on: date, **fields: object) -> SourceView:
    base: dict[str, object] = {"given_name": "Amy", "family_name": "Stone",
                               "date_of_birth": date(2015, 3, 1)}
    base.update(fields)
    record = SourceRecord(source_code=source, source_record_id=f"{source}-{key}", **base)  # type: ignore[arg-type]
    return SourceView(record, key, key * 10, on)


def test_authority_beats_recency_and_recency_breaks_ties() -> None:
    pds = view(1, "NHS-PDS", date(2026, 1, 1), postcode="LS1 1AA", address_line_1="1 A St",
               nhs_number="9434765919")
    school = view(2, "DFE-CENSUS", date(2026, 11, 1), postcode="LS2 2BB",
                  address_line_1="2 B St", upn="A123456789012")
    chb = view(3, "HMRC-CHB", date(2026, 6, 1), postcode="LS3 3CC", address_line_1="3 C St")
    out = assemble("000000000019", [pds, school, chb], KNOWN_SOURCE_AUTHORITY, today=TODAY)
    rec = out.record
    assert rec.whereabouts.address is not None
    assert rec.whereabouts.address.postcode == "LS3 3CC"  # HMRC-CHB ranks 90 for address
    assert out.provenance[RecordField.ADDRESS].source_code == "HMRC-CHB"
    assert out.provenance[RecordField.ADDRESS].extract_date == date(2026, 6, 1)
    assert rec.nhs_number == "9434765919"
    assert rec.upn == "A123456789012"
    assert out.provenance[RecordField.UPN].source_record_id == "DFE-CENSUS-2"
    # two records of the same source: the newer extract wins
    later = view(4, "HMRC-CHB", date(2026, 10, 1), postcode="LS4 4DD", address_line_1="4 D St")
    rec2 = assemble("000000000019", [pds, chb, later], KNOWN_SOURCE_AUTHORITY, today=TODAY).record
    assert rec2.whereabouts.address is not None
    assert rec2.whereabouts.address.postcode == "LS4 4DD"


def test_empty_values_never_win_and_unknown_sources_only_fill_gaps() -> None:
    pds = view(1, "NHS-PDS", date(2026, 1, 1), sex=None)
    other = view(2, "CHARITY-X", date(2026, 11, 1), sex=Sex.FEMALE, given_name="Aimee",
                 postcode="LS9 9ZZ")
    out = assemble("000000000019", [pds, other], {}, today=TODAY)
    assert out.record.gender == Sex.FEMALE
    assert out.record.names.given_name == "Amy"  # PDS outranks an unknown source
    assert out.record.whereabouts.address is not None  # only the charity knows an address


def test_involvements_union_education_gp_and_former_names() -> None:
    school = Involvement(ServiceType.EDUCATION, org_code="100001", start=date(2024, 9, 1))
    old_school = Involvement(ServiceType.EDUCATION, org_code="100000", start=date(2019, 9, 1),
                             end=date(2024, 7, 20))
    gp = Involvement(ServiceType.PRIMARY_CARE, org_code="B82005")
    a = view(1, "DFE-CENSUS", date(2026, 1, 1), involvements=(school, old_school),
             family_name="Brook", former_family_name="Hill")
    b = view(2, "NHS-PDS", date(2026, 11, 1), involvements=(gp,), family_name="Stone",
             carers=(Carer("Jo Stone", "mother", None, True),))
    out = assemble("000000000019", [a, b], KNOWN_SOURCE_AUTHORITY, today=TODAY)
    rec = out.record
    assert rec.education_setting == school
    assert rec.gp_practice == gp
    assert set(rec.involvements) == {school, gp}  # the ended one is not current
    assert rec.names.family_name == "Stone"
    assert rec.names.former_family_names == ("Hill", "Brook")
    assert rec.carers[0].name == "Jo Stone"


def test_shield_and_owner_are_carried_and_empty_input_refused() -> None:
    out = assemble("000000000019", [view(1, "NHS-PDS", TODAY)], {}, shielded=True,
                   owning_la="202", today=TODAY)
    assert out.record.shielded
    assert out.record.owning_la == "202"
    with pytest.raises(ValueError, match="at least one"):
        assemble("000000000019", [], {})
