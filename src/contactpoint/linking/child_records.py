"""Load a child record from the database: its active source records through survivorship.

A child with no active source record left is not live: :func:`load_child_record` raises
:class:`NotFound` for it, as for an unknown id. An id that disappeared in a merge redirects to
the surviving child.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import ColumnClause, Connection, Select, bindparam, literal_column, select

from contactpoint.db.tables import extract, record_link, source_authority, source_record
from contactpoint.domain.record import (
    AssessmentStatus,
    Carer,
    ConsentBasis,
    Involvement,
    RecordStatus,
    ServiceType,
    Sex,
    SourceRecord,
    record_field_names,
)
from contactpoint.domain.sources import RecordField
from contactpoint.domain.survivorship import SourceView, SurvivedChild, assemble
from contactpoint.errors import NotFound
from contactpoint.linking.history import ChildRow, resolve_child

_INVOLVEMENT_FIELDS = record_field_names(Involvement)
_CARER_FIELDS = record_field_names(Carer)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _json(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    data = json.loads(value) if isinstance(value, str) else value
    return [d for d in data if isinstance(d, dict)]


def parse_carers(value: Any) -> tuple[Carer, ...]:
    out = []
    for d in _json(value):
        kept = {k: v for k, v in d.items() if k in _CARER_FIELDS}
        if kept.get("name"):
            out.append(Carer(**kept))
    return tuple(out)


def parse_involvements(value: Any) -> tuple[Involvement, ...]:
    out = []
    for d in _json(value):
        kept = {k: v for k, v in d.items() if k in _INVOLVEMENT_FIELDS}
        if "service_type" not in kept:
            continue
        kept["service_type"] = ServiceType(kept["service_type"])
        kept["start"], kept["end"] = _date(kept.get("start")), _date(kept.get("end"))
        if "consent_basis" in kept:
            kept["consent_basis"] = ConsentBasis(kept["consent_basis"] or "not_given")
        if "assessment_status" in kept:
            kept["assessment_status"] = AssessmentStatus(kept["assessment_status"] or "none")
        for flag in ("sensitive", "lead_professional"):
            if flag in kept:
                kept[flag] = bool(kept[flag])
        out.append(Involvement(**kept))
    return tuple(out)


# Source -> field -> rank, per database. A source's rows are written once, when the source is
# registered (``ingest.registry.ensure_source``), and never changed, so a source read once
# never needs reading again: a search's results then cost no authority round trip.
_authority: dict[str, dict[str, dict[RecordField, int]]] = {}
_authority_lock = threading.Lock()


def _read_authority(
    conn: Connection, sources: Collection[str] | None
) -> dict[str, dict[RecordField, int]]:
    out: dict[str, dict[RecordField, int]] = {}
    query = select(source_authority.c.source_code, source_authority.c.field,
                   source_authority.c.rank)
    if sources is not None:
        query = query.where(source_authority.c.source_code.in_(sorted(set(sources))))
    for code, fld, rank in conn.execute(query).all():
        try:
            out.setdefault(code, {})[RecordField(fld)] = int(rank)
        except ValueError:
            continue
    return out


def authority_table(
    conn: Connection, sources: Collection[str] | None = None
) -> dict[str, dict[RecordField, int]]:
    """Source -> field -> authority rank; only ``sources`` when given (survivorship ranks a
    record by its own source alone, so a child's records need only their sources' rows).
    Named sources are read from the database once per process (their rows never change)."""
    if sources is None:
        return _read_authority(conn, None)
    key = conn.engine.url.render_as_string(hide_password=True)
    with _authority_lock:
        known = _authority.setdefault(key, {})
        out = {code: known[code] for code in sources if code in known}
    missing = set(sources) - set(out)
    if missing:
        fresh = _read_authority(conn, missing)
        with _authority_lock:
            _authority[key].update(fresh)
        out.update(fresh)
    return out


def load_source_views(conn: Connection, child_key: int) -> list[SourceView]:
    return _views(conn, [child_key]).get(child_key, [])


_s = source_record.c


def _views_query(services: bool) -> Select[Any]:
    nothing: ColumnClause[Any] = literal_column("NULL")
    return (
        select(_s.id, _s.source_code, _s.source_record_id, _s.given_name, _s.middle_names,
               _s.family_name, _s.former_family_name, _s.preferred_name, _s.date_of_birth,
               _s.sex, _s.address_line_1, _s.address_line_2, _s.address_line_3, _s.town,
               _s.postcode, _s.nhs_number, _s.upn,
               _s.carers if services else nothing.label("carers"),
               _s.involvements if services else nothing.label("involvements"),
               _s.extract_id, extract.c.extract_date, record_link.c.child_key)
        .join(extract, extract.c.id == _s.extract_id)
        .join(record_link, record_link.c.record_key == _s.id)
        .where(record_link.c.child_key.in_(bindparam("child_keys", expanding=True)),
               _s.record_status == "active")
        .order_by(_s.id)
    )


# Built once (a search loads its results' records through them): no construction per call.
_VIEWS = {True: _views_query(True), False: _views_query(False)}


def _views(conn: Connection, child_keys: list[int], services: bool = True
           ) -> dict[int, list[SourceView]]:
    """Active source records of each child (one query for all of them); without
    ``services``, their carers and involvements are not read (left empty)."""
    rows = conn.execute(_VIEWS[services], {"child_keys": child_keys}).all()
    views: dict[int, list[SourceView]] = {}
    for r in rows:
        record = SourceRecord(
            source_code=r.source_code, source_record_id=r.source_record_id,
            given_name=r.given_name, family_name=r.family_name,
            date_of_birth=_date(r.date_of_birth) or date.min, record_status=RecordStatus.ACTIVE,
            middle_names=r.middle_names, former_family_name=r.former_family_name,
            preferred_name=r.preferred_name, sex=Sex(r.sex) if r.sex else None,
            address_line_1=r.address_line_1, address_line_2=r.address_line_2,
            address_line_3=r.address_line_3, town=r.town, postcode=r.postcode,
            nhs_number=r.nhs_number, upn=r.upn, carers=parse_carers(r.carers),
            involvements=parse_involvements(r.involvements),
        )
        views.setdefault(int(r.child_key), []).append(
            SourceView(record, int(r.id), int(r.extract_id), _date(r.extract_date) or date.min))
    return views


def load_child_record(conn: Connection, child_id: str) -> SurvivedChild:
    """The current child record behind ``child_id`` (redirecting merged ids), with provenance."""
    row = resolve_child(conn, child_id)
    return load_child_row(conn, row)


def load_child_row(conn: Connection, row: ChildRow) -> SurvivedChild:
    """The child record of a (resolved) child; :class:`NotFound` if no record is active."""
    views = load_source_views(conn, row.key)
    if not views:
        raise NotFound("no such child")
    sources = {v.record.source_code for v in views}
    return assemble(row.child_id, views, authority_table(conn, sources), shielded=row.shielded,
                    owning_la=row.owning_la)


def load_many(conn: Connection, children: dict[int, tuple[str, bool]], *,
              services: bool = True) -> dict[int, SurvivedChild]:
    """Child records of several children at once: ``{child_key: (child_id, shielded)}`` ->
    ``{child_key: record}`` (children without an active record are left out).

    ``services=False``: the carers and involvements of the source records are not read, so the
    records hold no carers, involvements, education setting or GP practice; every other field
    (names, date of birth, sex, address, identifiers), which survivorship chooses without
    them, is as with ``services``. What a search result shows, for less work."""
    if not children:
        return {}
    views = _views(conn, sorted(children), services)
    authority = authority_table(
        conn, {v.record.source_code for found in views.values() for v in found})
    return {
        key: assemble(children[key][0], v, authority, shielded=children[key][1])
        for key, v in views.items() if v
    }
