"""Survivorship: the child record assembled from its active source records.

Each field (a :class:`~contactpoint.domain.sources.RecordField`) is taken whole from one source
record: the one whose source has the highest authority for that field, then the most recent
extract, then the most recently loaded record. Empty values never win. Every chosen field keeps
its provenance (source, source record, extract, extract date). Involvements are the union of the
current ones; the education setting is the chosen current ``education`` involvement and the GP
the chosen current ``primary_care`` one; former family names accumulate across records (each
record's former name, and family names the chosen, more recent name replaced).
Pure: no database, no engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from contactpoint.domain.record import (
    Address,
    ChildNames,
    ChildRecord,
    Involvement,
    ServiceType,
    Sex,
    SourceRecord,
    Whereabouts,
    WhereaboutsState,
)
from contactpoint.domain.sources import LOWEST_AUTHORITY, RecordField, default_authority

Authority = Mapping[str, Mapping[RecordField, int]]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SourceView:
    """A source record with where it came from."""

    record: SourceRecord
    record_key: int
    extract_id: int
    extract_date: date


@dataclass(frozen=True)
class FieldProvenance:
    source_code: str
    source_record_id: str
    record_key: int
    extract_id: int
    extract_date: date


@dataclass(frozen=True)
class SurvivedChild:
    record: ChildRecord
    provenance: Mapping[RecordField, FieldProvenance] = field(default_factory=dict)


def rank(authority: Authority, source_code: str, fld: RecordField) -> int:
    profile = authority.get(source_code)
    if profile is None:
        profile = default_authority(source_code)[0]
    return profile.get(fld, LOWEST_AUTHORITY)


def _provenance(view: SourceView) -> FieldProvenance:
    r = view.record
    return FieldProvenance(r.source_code, r.source_record_id, view.record_key, view.extract_id,
                           view.extract_date)


def choose(
    views: Sequence[SourceView], authority: Authority, fld: RecordField,
    value: Callable[[SourceView], _T | None],
) -> tuple[_T, SourceView] | None:
    """The value of ``fld`` from the best view that has one: authority, recency, load order."""
    best: tuple[tuple[int, date, int], _T, SourceView] | None = None
    for view in views:
        v = value(view)
        if v is None or v == () or v == "":
            continue
        key = (rank(authority, view.record.source_code, fld), view.extract_date, view.record_key)
        if best is None or key > best[0]:
            best = (key, v, view)
    return None if best is None else (best[1], best[2])


def _current(inv: Involvement, today: date) -> bool:
    return inv.end is None or inv.end >= today


def _involvement(kind: ServiceType, today: date) -> Callable[[SourceView], Involvement | None]:
    def pick(view: SourceView) -> Involvement | None:
        current = [i for i in view.record.involvements
                   if i.service_type == kind and _current(i, today)]
        if not current:
            return None
        return max(current, key=lambda i: i.start or date.min)
    return pick


def _address(view: SourceView) -> Address | None:
    r = view.record
    lines = tuple(x for x in (r.address_line_1, r.address_line_2, r.address_line_3) if x)
    if not lines and not r.postcode and not r.town:
        return None
    return Address(lines=lines, town=r.town, postcode=r.postcode)


def assemble(
    child_id: str,
    views: Sequence[SourceView],
    authority: Authority,
    *,
    shielded: bool = False,
    owning_la: str | None = None,
    today: date | None = None,
) -> SurvivedChild:
    """Build the child record from ``views`` (the child's *active* source records)."""
    if not views:
        raise ValueError("a child record needs at least one active source record")
    today = today or date.today()  # noqa: DTZ011 - a calendar date
    prov: dict[RecordField, FieldProvenance] = {}

    def take(fld: RecordField, value: Callable[[SourceView], _T | None]) -> _T | None:
        got = choose(views, authority, fld, value)
        if got is None:
            return None
        prov[fld] = _provenance(got[1])
        return got[0]

    name_view = take(RecordField.NAME, lambda v: v)
    assert name_view is not None
    nr = name_view.record
    former: list[str] = []
    seen = {nr.family_name.casefold()}
    for view in sorted(views, key=lambda v: (v.extract_date, v.record_key)):
        candidates = [view.record.former_family_name]
        if view.extract_date < name_view.extract_date:
            candidates.append(view.record.family_name)
        for name in candidates:
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                former.append(name)
    names = ChildNames(given_name=nr.given_name, family_name=nr.family_name,
                       middle_names=nr.middle_names, preferred_name=nr.preferred_name,
                       former_family_names=tuple(former))
    dob = take(RecordField.DATE_OF_BIRTH, lambda v: v.record.date_of_birth)
    assert dob is not None
    sex = take(RecordField.SEX, lambda v: v.record.sex if v.record.sex != Sex.NOT_SPECIFIED
               else None) or Sex.NOT_SPECIFIED
    address = take(RecordField.ADDRESS, _address)
    whereabouts = Whereabouts(
        state=WhereaboutsState.CURRENT if address else WhereaboutsState.NO_KNOWN_ADDRESS,
        address=address,
    )
    involvements: list[Involvement] = []
    for view in sorted(views, key=lambda v: v.record_key):
        for inv in view.record.involvements:
            if _current(inv, today) and inv not in involvements:
                involvements.append(inv)
    record = ChildRecord(
        child_id=child_id,
        names=names,
        whereabouts=whereabouts,
        gender=sex,
        date_of_birth=dob,
        nhs_number=take(RecordField.NHS_NUMBER, lambda v: v.record.nhs_number),
        upn=take(RecordField.UPN, lambda v: v.record.upn),
        carers=take(RecordField.CARERS, lambda v: v.record.carers) or (),
        education_setting=take(RecordField.EDUCATION_SETTING,
                               _involvement(ServiceType.EDUCATION, today)),
        gp_practice=take(RecordField.GP_PRACTICE, _involvement(ServiceType.PRIMARY_CARE, today)),
        involvements=tuple(involvements),
        shielded=shielded,
        owning_la=owning_la,
    )
    return SurvivedChild(record=record, provenance=prov)
