"""Reads: a child's current involvements, and whether an organisation is involved.

Merges are followed at read time. A recorded involvement stays on the child it was recorded
against; the involvements of child B are those recorded on B and on every child merged into
B (``child.merged_into_id``, through chains). An unmerge that restores A takes A's
involvements back with it, with nothing rewritten. Feed-derived involvements ride on source
records, which merges and unmerges move already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select

from contactpoint.access.tables import app_user, organisation
from contactpoint.audit.tables import audit_event
from contactpoint.audit.trail import AuditAction
from contactpoint.db.base import utcnow
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.domain.record import (
    AssessmentStatus,
    ConsentBasis,
    Involvement,
    InvolvementStatus,
    ServiceType,
)
from contactpoint.involvement import orgcodes
from contactpoint.involvement.tables import involvement
from contactpoint.linking.child_records import parse_involvements
from contactpoint.linking.history import resolve_key

# How long a search that returned a child lets its user record an involvement with it.
RECENT_SEARCH = timedelta(hours=24)


class InvolvementOrigin(StrEnum):
    RECORDED = "recorded"  # by a practitioner, through the index
    FEED = "feed"  # by a source feed (its service_* columns, EpisodeOfCare, CareTeam)


@dataclass(frozen=True)
class CurrentInvolvement:
    """One current involvement with a child, whoever said so.

    ``organisation`` is the index's organisation code: the recorder's organisation, or the
    organisation a feed's ``service_org_code`` is mapped to (``None`` when unmapped).
    ``id`` is the recorded involvement's id (``None`` for a feed-derived one). Source codes
    are deliberately absent: a source can itself name a sensitive service.
    """

    involvement: Involvement
    origin: InvolvementOrigin
    organisation: str | None
    id: int | None = None
    status: InvolvementStatus = InvolvementStatus.CURRENT


def merged_keys(conn: Connection, child_key: int) -> list[int]:
    """``child_key`` and every child merged into it, directly or through a chain."""
    family = select(child.c.id.label("id")).where(child.c.id == child_key).cte(
        "family", recursive=True)
    family = family.union(
        select(child.c.id).where(child.c.merged_into_id == family.c.id,
                                 child.c.status == "merged"))
    return sorted(int(k) for k in conn.execute(select(family.c.id)).scalars())


def _current_clause(today: date) -> Any:
    return and_(involvement.c.status == InvolvementStatus.CURRENT.value,
                or_(involvement.c.end.is_(None), involvement.c.end >= today))


def recorded_rows(conn: Connection, child_key: int, *, org_code: str | None = None,
                  current_on: date | None = None) -> list[Row[Any]]:
    """Recorded involvements of a child (and of the children merged into it), oldest first;
    only ``org_code``'s, only those current on ``current_on``, when given."""
    stmt = (select(involvement, organisation.c.name.label("org_name"))
            .join(organisation, organisation.c.code == involvement.c.org_code)
            .where(involvement.c.child_key.in_(merged_keys(conn, child_key)))
            .order_by(involvement.c.id))
    if org_code is not None:
        stmt = stmt.where(involvement.c.org_code == org_code)
    if current_on is not None:
        stmt = stmt.where(_current_clause(current_on))
    return list(conn.execute(stmt).all())


def as_involvement(row: Row[Any]) -> Involvement:
    return Involvement(
        service_type=ServiceType(row.service_type), org_code=row.org_code,
        org_name=row.org_name, practitioner_name=row.practitioner_name,
        practitioner_role=row.practitioner_role, practitioner_phone=row.practitioner_phone,
        practitioner_email=row.practitioner_email, start=row.start, end=row.end,
        sensitive=bool(row.sensitive), consent_basis=ConsentBasis(row.consent_basis),
        assessment_status=AssessmentStatus(row.assessment_status),
        lead_professional=bool(row.lead_professional),
    )


def _feed_involvements(conn: Connection, child_key: int, today: date) -> list[Involvement]:
    rows = conn.execute(
        select(source_record.c.involvements)
        .join(record_link, record_link.c.record_key == source_record.c.id)
        .where(record_link.c.child_key == child_key, source_record.c.record_status == "active")
        .order_by(source_record.c.id)
    ).scalars()
    found: list[Involvement] = []
    for value in rows:
        for inv in parse_involvements(value):
            if (inv.end is None or inv.end >= today) and inv not in found:
                found.append(inv)
    return found


def current_involvements(conn: Connection, child_key: int, *,
                         today: date | None = None) -> list[CurrentInvolvement]:
    """Every current involvement with the child (following merges): recorded ones first, then
    the feeds' (duplicates across sources once). Unfiltered: sensitive ones included, with
    their consent basis; the visibility policy decides what a user sees."""
    today = today or utcnow().date()
    key = resolve_key(conn, child_key).key
    out = [CurrentInvolvement(as_involvement(r), InvolvementOrigin.RECORDED, r.org_code,
                              int(r.id), InvolvementStatus(r.status))
           for r in recorded_rows(conn, key, current_on=today)]
    feed = _feed_involvements(conn, key, today)
    mapped = orgcodes.organisations_of(conn, {i.org_code for i in feed if i.org_code})
    for inv in feed:
        org = mapped.get(orgcodes.normalise_feed_code(inv.org_code)) if inv.org_code else None
        out.append(CurrentInvolvement(inv, InvolvementOrigin.FEED, org))
    return out


def recorded_for(conn: Connection, child_key: int, actor: str | None, *,
                 today: date | None = None) -> tuple[tuple[Involvement, bool], ...]:
    """The child's current recorded involvements (following merges), each with whether
    ``actor`` (``user:<name>``) recorded it: the shape the child view's policy takes."""
    today = today or utcnow().date()
    key = resolve_key(conn, child_key).key
    rows = recorded_rows(conn, key, current_on=today)
    users = dict(conn.execute(
        select(app_user.c.id, app_user.c.username)
        .where(app_user.c.id.in_(sorted({int(r.created_by) for r in rows})))).all()
    ) if rows else {}
    return tuple((as_involvement(r), actor is not None
                  and f"user:{users.get(int(r.created_by))}" == actor) for r in rows)


def organisation_involved(conn: Connection, child_key: int, org_code: str, *,
                          today: date | None = None) -> bool:
    """Is ``org_code`` currently involved with the child (following merges)? A current
    involvement its practitioners recorded, or a current feed-derived one whose
    ``service_org_code`` is mapped to it (``orgcodes``)."""
    today = today or utcnow().date()
    key = resolve_key(conn, child_key).key
    if conn.execute(
        select(involvement.c.id).where(
            involvement.c.child_key.in_(merged_keys(conn, key)),
            involvement.c.org_code == org_code, _current_clause(today)).limit(1)
    ).first() is not None:
        return True
    codes = orgcodes.feed_codes_of(conn, org_code)
    if not codes:
        return False
    return any(inv.org_code and orgcodes.normalise_feed_code(inv.org_code) in codes
               for inv in _feed_involvements(conn, key, today))


def recently_found(conn: Connection, actor: str, child_id: str, *, now: datetime,
                   within: timedelta = RECENT_SEARCH) -> bool:
    """Did ``actor``'s own search return ``child_id`` within ``within`` of ``now``?

    Reads the search events of the audit trail (indexed by actor), whose details name the
    child ids returned (as ``"<id>"`` or ``"child:<id>"`` JSON strings). The search
    service's child -> event index can answer this directly once it exists.
    """
    return conn.execute(
        select(audit_event.c.seq).where(
            audit_event.c.actor == actor,
            audit_event.c.action == AuditAction.CHILD_SEARCH.value,
            audit_event.c.at >= now - within,
            or_(audit_event.c.details.contains(f'"{child_id}"', autoescape=True),
                audit_event.c.details.contains(f'child:{child_id}"', autoescape=True)),
        ).limit(1)
    ).first() is not None
