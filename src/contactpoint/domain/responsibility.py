"""Which council is responsible for a child: a pure rule over evidence from the child's own
active source records, each piece with its provenance.

Evidence, strongest kind first (:class:`~contactpoint.domain.council.EvidenceKind`):

1. a council's own feed holds the child (``LA-CSC-<la>``, ``YOT-<la>``): the council is
   working with the child, including one it has placed outside its area;
2. the postcode district of the child's address (the shipped district table): the statutory
   test is where the child lives, so residence outranks school and UPN, and a move of house is
   what transfers responsibility;
3. the LA part of the LAESTAB of the child's current school (a CTF's sending school, or an
   education involvement whose organisation code is a 7-digit LAESTAB);
4. the LA number in the UPN (characters 2-4): the LA of the school that first issued it,
   which never changes after a move, hence last.

Within a kind the most recent evidence wins (the extract date of the record that carries it);
a tie goes to the council more records agree on, then to the lower LA number (so the rule is
deterministic).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from json.encoder import encode_basestring_ascii as _json_str

from contactpoint.domain.council import EVIDENCE_RANK, EvidenceKind

_COUNCIL_SOURCE = re.compile(r"^(?:LA-CSC|YOT)-(\d{3})$")
_CTF_SOURCE = re.compile(r"^CTF-(\d{3})(\d{4})$")
_LAESTAB = re.compile(r"^(\d{3})(\d{4})$")
_UPN = re.compile(r"^[A-Z](\d{3})\d{8}[0-9A-Z]$")
_OUTWARD = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence: which council, of which kind, from which record and when.

    ``detail`` says what the evidence was without personal data: the source code, the
    district or the LAESTAB (never a full postcode or a UPN)."""

    kind: EvidenceKind
    la_code: str
    source_code: str
    source_record_id: str
    observed_on: date
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "la_code": self.la_code,
                "source_code": self.source_code, "source_record_id": self.source_record_id,
                "observed_on": self.observed_on.isoformat(), "detail": self.detail}

    def as_json(self) -> str:
        """:meth:`as_dict` as compact JSON, byte for byte what
        ``json.dumps(self.as_dict(), separators=(",", ":"))`` writes (the same key order and
        escaping), without the dict and the encoder's dispatch: a first link run writes one
        per piece of evidence of every child."""
        return (f'{{"kind":"{self.kind.value}","la_code":{_json_str(self.la_code)},'
                f'"source_code":{_json_str(self.source_code)},'
                f'"source_record_id":{_json_str(self.source_record_id)},'
                f'"observed_on":"{self.observed_on.isoformat()}",'
                f'"detail":{_json_str(self.detail)}}}')

    @classmethod
    def from_dict(cls, d: Mapping[str, str]) -> Evidence:
        return cls(EvidenceKind(d["kind"]), d["la_code"], d["source_code"],
                   d["source_record_id"], date.fromisoformat(d["observed_on"]), d["detail"])


@dataclass(frozen=True, slots=True)
class Responsibility:
    """The responsible council (``None``: no evidence, the national report) and every piece of
    evidence considered, the deciding one first."""

    la_code: str | None
    evidence: tuple[Evidence, ...]

    @property
    def deciding(self) -> Evidence | None:
        return self.evidence[0] if self.la_code is not None and self.evidence else None


# -- reading evidence out of identifiers --------------------------------------------------


def la_from_source_code(source_code: str) -> str | None:
    """The council of a council's own feed (``LA-CSC-202``, ``YOT-202``)."""
    m = _COUNCIL_SOURCE.match(source_code)
    return m.group(1) if m else None


def laestab_from_source_code(source_code: str) -> str | None:
    """The sending school's LAESTAB of a CTF feed (``CTF-2022001``)."""
    m = _CTF_SOURCE.match(source_code)
    return m.group(1) + m.group(2) if m else None


def la_from_laestab(code: str | None) -> str | None:
    """The LA number of a 7-digit LAESTAB (a 6-digit URN carries no LA: ``None``)."""
    if not code:
        return None
    m = _LAESTAB.match(code.strip())
    return m.group(1) if m else None


def la_from_upn(upn: str | None) -> str | None:
    """The LA number in a UPN: the three digits after the check letter."""
    if not upn:
        return None
    m = _UPN.match(upn.strip().upper())
    return m.group(1) if m else None


def postcode_district(postcode: str | None) -> str | None:
    """The outward code of a full UK postcode (``"ls1 4ap"`` -> ``"LS1"``)."""
    if not postcode:
        return None
    m = _OUTWARD.match(postcode.strip().upper())
    return m.group(1) if m else None


@cache
def district_table() -> Mapping[str, str]:
    """The shipped postcode-district -> LA table (``domain/data/postcode_districts.csv``;
    its header states its source and licence)."""
    text = resources.files("contactpoint.domain").joinpath(
        "data/postcode_districts.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["district"].upper(): r["la_code"] for r in rows}


def la_from_postcode(postcode: str | None, table: Mapping[str, str] | None = None) -> str | None:
    district = postcode_district(postcode)
    if district is None:
        return None
    return (table if table is not None else district_table()).get(district)


# -- the rule --------------------------------------------------------------------------------


def _order(e: Evidence) -> tuple[int, int, str, str, str, str]:
    """Every field of ``e``, so that distinct pieces never tie: their order (and the deciding
    piece among equals) does not depend on the order they came in, or on hashing."""
    return (EVIDENCE_RANK[e.kind], -e.observed_on.toordinal(), e.la_code, e.source_code,
            e.source_record_id, e.detail)


def responsible_council(evidence: Iterable[Evidence]) -> Responsibility:
    """Rank the evidence and name the council: strongest kind, then most recent, then the
    council more records of that kind and date agree on, then the lower LA number. A piece
    given twice counts once."""
    pieces = evidence if isinstance(evidence, list | tuple) else list(evidence)
    if len(pieces) == 1:  # nothing to rank (and no set to hash: called for every child)
        return Responsibility(pieces[0].la_code, (pieces[0],))
    ranked = sorted(pieces, key=_order)  # equal pieces are neighbours: _order is total
    items = [e for i, e in enumerate(ranked) if i == 0 or e != ranked[i - 1]]
    if not items:
        return Responsibility(None, ())
    best = items[0]
    tied = [e for e in items if e.kind == best.kind and e.observed_on == best.observed_on]
    if len(tied) == 1 or all(e.la_code == best.la_code for e in tied):  # nothing to count
        return Responsibility(best.la_code, tuple(items))
    votes: dict[str, int] = {}
    for e in tied:
        votes[e.la_code] = votes.get(e.la_code, 0) + 1
    winner = min(votes, key=lambda la: (-votes[la], la))
    deciding = next(e for e in tied if e.la_code == winner)
    rest = [e for e in items if e is not deciding]
    return Responsibility(winner, (deciding, *rest))


_K_FEED, _K_HOME, _K_SCHOOL, _K_UPN = (EvidenceKind.COUNCIL_FEED, EvidenceKind.POSTCODE_DISTRICT,
                                        EvidenceKind.SCHOOL_LAESTAB, EvidenceKind.UPN_LA)


def evidence_from_record(
    *,
    source_code: str,
    source_record_id: str,
    observed_on: date,
    upn: str | None,
    postcode: str | None,
    education_codes: Iterable[str],
    table: Mapping[str, str] | None = None,
) -> list[Evidence]:
    """Every piece of evidence one active source record carries. ``education_codes``: the
    organisation codes of its *current* education involvements. (Called for every record of a
    first link run: the cheap prefix tests come before the regular expressions.)"""
    out: list[Evidence] = []
    if source_code.startswith(("LA-CSC-", "YOT-")):
        la = la_from_source_code(source_code)
        if la is not None:
            out.append(Evidence(_K_FEED, la, source_code, source_record_id, observed_on,
                                source_code))
    if postcode:
        district = postcode_district(postcode)
        if district is not None:
            la = (table if table is not None else district_table()).get(district)
            if la is not None:
                out.append(Evidence(_K_HOME, la, source_code, source_record_id, observed_on,
                                    district))
    codes = list(education_codes)
    if source_code.startswith("CTF-"):
        ctf = laestab_from_source_code(source_code)
        if ctf is not None and ctf not in codes:
            codes.insert(0, ctf)
    for code in codes:
        la = la_from_laestab(code)
        if la is not None:
            out.append(Evidence(_K_SCHOOL, la, source_code, source_record_id, observed_on,
                                code.strip()))
    if upn:
        la = la_from_upn(upn)
        if la is not None:
            out.append(Evidence(_K_UPN, la, source_code, source_record_id, observed_on, "upn"))
    return out
