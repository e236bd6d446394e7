"""The responsible-council rule: each kind of evidence, its ranking, recency, and the shipped
postcode-district table (which must cover every district the synthetic generator deals)."""

from __future__ import annotations

import json
import random
from datetime import date

from contactpoint.domain.council import (
    EVIDENCE_RANK,
    EvidenceKind,
    ShieldReviewState,
    shield_review_state,
)
from contactpoint.domain.responsibility import (
    Evidence,
    Responsibility,
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


AWKWARD = ["r", 'quo"te', "back\\slash", "tab\tnew\nline", "\x00\x1f\x7f", "é ü ß",
           "𝔘 emoji 👶", "</script>", "", " spaced "]


def _varied() -> list[Evidence]:
    out = []
    for n, text in enumerate(AWKWARD):
        kind = list(EvidenceKind)[n % 4]
        out.append(Evidence(kind, f"{n:03d}", f"SRC-{text}", text, date(2026, 1 + n, 1 + n),
                            text or "upn"))
    return out


def test_as_json_writes_what_json_dumps_of_as_dict_writes() -> None:
    """The stored evidence is encoded without a dict per piece: byte for byte the old way."""
    for e in _varied():
        assert e.as_json() == json.dumps(e.as_dict(), separators=(",", ":"))
        assert Evidence.from_dict(json.loads(e.as_json())) == e


def _old_rule(evidence: list[Evidence]) -> Responsibility:
    """The rule as it was (a set, ranked without ``detail``): the oracle of the new one."""
    def order(e: Evidence) -> tuple[int, int, str, str, str]:
        return (EVIDENCE_RANK[e.kind], -e.observed_on.toordinal(), e.la_code, e.source_code,
                e.source_record_id)
    items = sorted(set(evidence), key=order)
    if not items:
        return Responsibility(None, ())
    best = items[0]
    tied = [e for e in items if e.kind == best.kind and e.observed_on == best.observed_on]
    votes: dict[str, int] = {}
    for e in tied:
        votes[e.la_code] = votes.get(e.la_code, 0) + 1
    winner = min(votes, key=lambda la: (-votes[la], la))
    deciding = next(e for e in tied if e.la_code == winner)
    return Responsibility(winner, (deciding, *[e for e in items if e is not deciding]))


def test_the_rule_is_the_old_rule_and_ignores_input_order_and_repeats() -> None:
    rng = random.Random(18)
    kinds = list(EvidenceKind)
    for _ in range(3000):
        pieces = [Evidence(rng.choice(kinds), rng.choice(["202", "886", "383"]),
                           rng.choice(["NHS-PDS", "LA-CSC-886"]), rng.choice(["1", "2"]),
                           rng.choice([D1, D2]), rng.choice(["d", "e"]))
                  for _ in range(rng.randint(0, 6))]
        got = responsible_council(pieces)
        old = _old_rule(pieces)
        assert got.la_code == old.la_code
        assert set(got.evidence) == set(pieces)
        assert len(got.evidence) == len(set(pieces))
        if old.deciding is not None:
            assert got.deciding is not None
            assert (got.deciding.kind, got.deciding.observed_on) == (
                old.deciding.kind, old.deciding.observed_on)
        if len({(e.kind, e.la_code, e.source_code, e.source_record_id, e.observed_on)
                for e in pieces}) == len(set(pieces)):  # no tie the old rule left to hashing
            assert got == old
        shuffled = pieces * 2
        rng.shuffle(shuffled)
        assert responsible_council(shuffled) == got  # deterministic, repeats count once
        assert responsible_council(iter(pieces)) == got
