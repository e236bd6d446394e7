"""Every child's council as frames (:mod:`contactpoint.linking.councils_at_once`) is the rule
(:func:`responsible_council` over :func:`evidence_from_record`) child for child, byte for byte,
on records made to find where the vectorised reading could differ."""

from __future__ import annotations

import json
import random
from datetime import date

import polars as pl
import pytest

from contactpoint.domain.responsibility import (
    Evidence,
    district_table,
    evidence_from_record,
    responsible_council,
)
from contactpoint.linking import councils_at_once
from contactpoint.linking.councils_at_once import decide, decide_in_parts, pieces_of
from contactpoint.linking.responsibility import _evidence_json, current_education_codes

TODAY = date(2026, 12, 1)
DATES = [date(2026, 9, 1), date(2026, 11, 1), date(2025, 1, 31)]
SOURCES = ["LA-CSC-886", "YOT-202", "LA-CSC-88", "la-csc-886", "CTF-3312001", "CTF-331200",
           "NHS-PDS", "DFE-CENSUS", "GRO-BIRTHS", "YOT-2O2", "LA-CSC-٣٣٣"]
POSTCODES = [None, "", "NW1 2AB", "nw1 2ab", " LS1 4AP ", "LS14AP", "ME1  1AA", "ZZ9 9ZZ",
             "LS1 4A", "EC1A 1BB", "B1 1AA", "LS1\t4AP", "LS1 4AP\n", "\x1cLS1 4AP", "ＬS1 4AP",
             "W1A 0AX", "M1 1AE"]
UPNS = [None, "", "A35300000001A", "a353000000012", " A35300000001A ", "A3530000001A",
        "B88612345678Z", "A353000000019\n", "A٣53000000019", "A33100000004A"]
IDS = ["r1", 'q"uote', "back\\slash", "tab\there", "é ü", "\x7f", "plain id", ""]
INVOLVEMENTS = [None, '[{"service_type": "health", "org_code": "X1"}]',
                '[{"service_type": "education", "org_code": "9372001"}]',
                '[{"service_type": "education", "org_code": " 3312001 ", "end": "2026-01-01"}]',
                '[{"service_type": "education", "org_code": 8861234}]',
                '[{"service_type": "education", "org_code": "3312001"}]',
                '[{"service_type": "education", "org_code": "\\u0663\\u0663\\u0661\\u0662001"}, '
                '{"service_type": "education", "org_code": "8861234", "end": "2027-01-01"}]',
                '[{"service_type": "education", "org_code": "886\\"234"}]']


def _records(n: int, seed: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        inv = rnd.choice(INVOLVEMENTS)
        rows.append((rnd.randrange(n // 3 + 1), rnd.choice(SOURCES), rnd.choice(IDS),
                     rnd.choice(UPNS), rnd.choice(POSTCODES),
                     inv if inv is not None and "education" in inv else None,
                     rnd.choice(DATES)))
    return pl.DataFrame(rows, orient="row", schema={
        "child_key": pl.Int64(), "source_code": pl.Utf8(), "source_record_id": pl.Utf8(),
        "upn": pl.Utf8(), "postcode": pl.Utf8(), "involvements": pl.Utf8(),
        "observed_on": pl.Date()})


def _by_rule(records: pl.DataFrame) -> dict[int, tuple[str | None, str | None, str]]:
    table = district_table()
    evidence: dict[int, list[Evidence]] = {}
    for key, code, srid, upn, postcode, inv, observed in records.iter_rows():
        evidence.setdefault(key, []).extend(evidence_from_record(
            source_code=code, source_record_id=srid, observed_on=observed, upn=upn,
            postcode=postcode, education_codes=current_education_codes(inv, TODAY), table=table))
    out = {}
    for key, found in evidence.items():
        r = responsible_council(found)
        if r.la_code is not None:
            out[key] = (r.la_code, r.deciding.kind.value if r.deciding else None,
                        _evidence_json(r.evidence))
    return out


def test_every_child_as_the_rule_decides_it() -> None:
    for seed in range(4):
        records = _records(3000, seed)
        decided = decide(pieces_of(records, TODAY))
        got = {k: (la, kind, ev) for k, la, kind, ev in decided.iter_rows()}
        assert got == _by_rule(records)
        assert len(got) > 200
        for _, _, ev in got.values():
            json.loads(ev)


def test_contested_children_are_counted() -> None:
    """Two councils on the same day and kind: the rule's votes decide (not the sort)."""
    records = pl.DataFrame({
        "child_key": [1, 1, 1, 2, 2], "source_code": ["NHS-PDS", "GRO-BIRTHS", "DFE-CENSUS",
                                                     "NHS-PDS", "GRO-BIRTHS"],
        "source_record_id": ["a", "b", "c", "d", "e"], "upn": [None] * 5,
        "postcode": ["NW1 2AB", "LS1 4AP", "LS1 4AP", "NW1 2AB", "NW1 2AB"],
        "involvements": [None] * 5, "observed_on": [DATES[0]] * 5})
    decided = decide(pieces_of(records, TODAY))
    got = {k: (la, kind, ev) for k, la, kind, ev in decided.iter_rows()}
    assert got == _by_rule(records)
    assert got[1][0] == district_table()["LS1"]


def test_in_parts_as_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each child's records in one part: the decisions are those of the whole at once."""
    records = _records(3000, 9)
    whole = decide(pieces_of(records, TODAY)).sort("child_key")
    monkeypatch.setattr(councils_at_once, "PART_RECORDS", 700)
    assert decide_in_parts(records, TODAY).sort("child_key").equals(whole)
