"""The responsible-council rule: each kind of evidence, its ranking, recency, and the shipped
postcode-district table (which must cover every district the synthetic generator deals)."""

from __future__ import annotations

from datetime import date

from contactpoint.domain.council import EvidenceKind, ShieldReviewState, shield_review_state
from contactpoint.domain.responsibility import (
    Evidence,
    district_table,
    evidence_from_record,
    la_from_laestab,
    la_from_postcode,
    la_from_source_code,
    la_from_upn,
    responsible_council,
)
from contactpoint.synth.world import build_world

D1, D2 = date(2026, 9, 1), date(2026, 11, 1)


def test_each_kind_of_evidence_is_read() -> None:
    assert la_from_source_code("LA-CSC-886") == "886"
    assert la_from_source_code("YOT-202") == "202"
    assert la_from_source_code("NHS-PDS") is None
    assert la_from_upn("A886123456789") == "886"
    assert la_from_upn("not a upn") is None
    assert la_from_laestab("8862001") == "886"
    assert la_from_laestab("123456") is None  # a URN carries no LA
    assert la_from_postcode("ls1 4ap") == "383"
    assert la_from_postcode("ZZ99 9ZZ") is None


def test_one_record_gives_every_kind_with_provenance_and_no_personal_data() -> None:
    found = evidence_from_record(
        source_code="CTF-8862001", source_record_id="A886123456789", observed_on=D2,
        upn="A330123456789", postcode="LS1 4AP", education_codes=["8862001", "123456"])
    kinds = {(e.kind, e.la_code, e.detail) for e in found}
    assert kinds == {(EvidenceKind.POSTCODE_DISTRICT, "383", "LS1"),
                     (EvidenceKind.SCHOOL_LAESTAB, "886", "8862001"),
                     (EvidenceKind.UPN_LA, "330", "upn")}
    assert all(e.source_code == "CTF-8862001" and e.observed_on == D2 for e in found)
    assert not any("4AP" in e.detail for e in found)


def ev(kind: EvidenceKind, la: str, on: date = D1, src: str = "S") -> Evidence:
    return Evidence(kind, la, src, "r", on, "d")


def test_ranking_council_feed_then_residence_then_school_then_upn() -> None:
    pieces = [ev(EvidenceKind.UPN_LA, "1"), ev(EvidenceKind.SCHOOL_LAESTAB, "2"),
              ev(EvidenceKind.POSTCODE_DISTRICT, "3"), ev(EvidenceKind.COUNCIL_FEED, "4")]
    for n in range(4, 0, -1):
        got = responsible_council(pieces[:n])
        assert got.la_code == str(n)
        assert got.deciding is not None
        assert got.deciding.la_code == str(n)
        assert len(got.evidence) == n  # every piece kept
    assert responsible_council([]).la_code is None


def test_most_recent_wins_within_a_kind_then_agreement_then_lower_code() -> None:
    moved = [ev(EvidenceKind.POSTCODE_DISTRICT, "202", D1),
             ev(EvidenceKind.POSTCODE_DISTRICT, "886", D2)]
    assert responsible_council(moved).la_code == "886"
    tie = [ev(EvidenceKind.POSTCODE_DISTRICT, "886", D2, "A"),
           ev(EvidenceKind.POSTCODE_DISTRICT, "202", D2, "B"),
           ev(EvidenceKind.POSTCODE_DISTRICT, "202", D2, "C")]
    assert responsible_council(tie).la_code == "202"
    assert responsible_council(tie[:2]).la_code == "202"  # lower code, deterministic


def test_the_district_table_covers_the_synthetic_world() -> None:
    world = build_world(2000, seed=7)
    table = district_table()
    councils = {int(c) for c in world.la_code}
    for postcode, council in zip(world.unit_postcode, world.unit_council, strict=True):
        assert la_from_postcode(str(postcode), table) == str(int(world.la_code[council]))
    assert {int(v) for v in table.values()} == councils


def test_shield_review_states() -> None:
    today = date(2026, 11, 25)
    assert shield_review_state(date(2026, 11, 24), today) is ShieldReviewState.OVERDUE
    assert shield_review_state(date(2026, 12, 1), today) is ShieldReviewState.DUE
    assert shield_review_state(date(2027, 3, 1), today) is ShieldReviewState.LATER
