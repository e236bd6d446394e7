"""Record, change and cease a practitioner's involvement with a child.

A practitioner records their own involvement, for their own organisation; colleagues in the
same organisation see and manage it. Anything else (another organisation's involvement, an
unknown id, a child the user has no business with) is refused exactly as "not found". Each
change appends its audit entry (subject ``child:<child id>``) in the caller's transaction:
the entry commits or rolls back with the change.

Recording needs a reason to know the child already: the user's own recent search returned it,
or their organisation is involved with it already. Otherwise recording an involvement would be
a way round the view's anti-browsing rule (an involvement of the user's organisation opens the
child view).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db.base import utcnow
from contactpoint.domain.record import (
    SENSITIVE_SERVICE_TYPES,
    AssessmentStatus,
    ConsentBasis,
    InvolvementStatus,
    ServiceType,
)
from contactpoint.errors import Conflict, NotFound, ValidationFailed
from contactpoint.involvement import queries
from contactpoint.involvement.queries import CurrentInvolvement, InvolvementOrigin
from contactpoint.involvement.tables import involvement
from contactpoint.linking import history

NOT_FOUND = "no such child or involvement"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,32}$")


@dataclass(frozen=True)
class Practitioner:
    """Who records: a signed-in user of an organisation (never a machine client)."""

    user_id: int
    actor: str
    org_code: str
    request_id: str | None = None


@dataclass(frozen=True)
class Details:
    """What a practitioner states about their involvement (statutory fields only)."""

    service_type: ServiceType
    practitioner_name: str
    practitioner_role: str | None = None
    practitioner_phone: str | None = None
    practitioner_email: str | None = None
    assessment_status: AssessmentStatus = AssessmentStatus.NONE
    lead_professional: bool = False
    sensitive: bool = False
    consent_basis: ConsentBasis = ConsentBasis.NOT_GIVEN
    start: date | None = None
    end: date | None = None

    @property
    def is_sensitive(self) -> bool:
        return self.sensitive or self.service_type in SENSITIVE_SERVICE_TYPES


CHANGEABLE = frozenset(f.name for f in fields(Details))


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def validated(d: Details) -> Details:
    """Clean and check ``d``; raises :class:`ValidationFailed` naming the field."""
    d = replace(
        d, service_type=ServiceType(d.service_type),
        assessment_status=AssessmentStatus(d.assessment_status),
        consent_basis=ConsentBasis(d.consent_basis),
        practitioner_name=_blank_to_none(d.practitioner_name) or "",
        practitioner_role=_blank_to_none(d.practitioner_role),
        practitioner_phone=_blank_to_none(d.practitioner_phone),
        practitioner_email=_blank_to_none(d.practitioner_email),
    )
    if not d.practitioner_name:
        raise ValidationFailed("practitioner_name: the practitioner's name is required")
    for name, limit in (("practitioner_name", 128), ("practitioner_role", 128)):
        value = getattr(d, name)
        if value is not None and len(value) > limit:
            raise ValidationFailed(f"{name}: at most {limit} characters")
    if d.practitioner_phone is not None and not _PHONE.match(d.practitioner_phone):
        raise ValidationFailed("practitioner_phone: 6-32 digits, spaces, brackets or dashes")
    if d.practitioner_email is not None and (
        len(d.practitioner_email) > 254 or not _EMAIL.match(d.practitioner_email)
    ):
        raise ValidationFailed("practitioner_email: not an email address")
    if d.start is not None and d.end is not None and d.end < d.start:
        raise ValidationFailed("end: before start")
    if d.is_sensitive:
        if d.consent_basis is ConsentBasis.NOT_GIVEN:
            raise ValidationFailed(
                "consent_basis: a sensitive service (sexual health, mental health, substance "
                "misuse) is recorded only with the young person's consent ('consent') or where "
                "significant harm is suspected ('significant_harm')")
        d = replace(d, sensitive=True)
    elif d.consent_basis is not ConsentBasis.NOT_GIVEN:
        raise ValidationFailed("consent_basis: applies only to a sensitive service")
    return d


@dataclass(frozen=True)
class Recorded:
    """A recorded involvement as its organisation sees it."""

    id: int
    child_id: str
    org_code: str
    status: InvolvementStatus
    details: Details
    created_at: datetime
    updated_at: datetime


def _recorded(row: Any, child_id: str) -> Recorded:
    d = Details(
        service_type=ServiceType(row.service_type), practitioner_name=row.practitioner_name,
        practitioner_role=row.practitioner_role, practitioner_phone=row.practitioner_phone,
        practitioner_email=row.practitioner_email,
        assessment_status=AssessmentStatus(row.assessment_status),
        lead_professional=bool(row.lead_professional), sensitive=bool(row.sensitive),
        consent_basis=ConsentBasis(row.consent_basis), start=row.start, end=row.end,
    )
    return Recorded(int(row.id), child_id, row.org_code, InvolvementStatus(row.status), d,
                    row.created_at, row.updated_at)


def _live_child(conn: Connection, child_id: str) -> history.ChildRow:
    """The current child behind ``child_id`` (merged ids redirect); an unknown, malformed or
    no-longer-live id is "not found"."""
    try:
        row = history.resolve_child(conn, child_id)
    except NotFound:
        raise NotFound(NOT_FOUND) from None
    if not history.child_has_active_records(conn, row.key):
        raise NotFound(NOT_FOUND)
    return row


def may_engage(conn: Connection, who: Practitioner, row: history.ChildRow, now: datetime) -> bool:
    """The user may record an involvement with this child: their organisation is involved
    already, or their own recent search returned it."""
    return queries.organisation_involved(conn, row.key, who.org_code, today=now.date()) or (
        queries.recently_found(conn, who.actor, row.child_id, now=now))


def _audit(conn: Connection, who: Practitioner, action: AuditAction, child_id: str,
           details: Mapping[str, Any], now: datetime) -> None:
    trail.append(conn, action=action, actor=who.actor, organisation=who.org_code,
                 request_id=who.request_id, subject=f"child:{child_id}", details=details,
                 at=now)


def record(conn: Connection, who: Practitioner, child_id: str, details: Details, *,
           now: datetime | None = None) -> Recorded:
    """Record ``who``'s involvement with the child (audited, in the caller's transaction)."""
    now = now or utcnow()
    row = _live_child(conn, child_id)
    if not may_engage(conn, who, row, now):
        raise NotFound(NOT_FOUND)
    d = validated(details)
    new_id = int(conn.execute(
        insert(involvement).values(
            child_key=row.key, org_code=who.org_code, service_type=d.service_type.value,
            practitioner_name=d.practitioner_name, practitioner_role=d.practitioner_role,
            practitioner_phone=d.practitioner_phone, practitioner_email=d.practitioner_email,
            assessment_status=d.assessment_status.value,
            lead_professional=d.lead_professional, sensitive=d.sensitive,
            consent_basis=d.consent_basis.value, start=d.start, end=d.end,
            status=InvolvementStatus.CURRENT.value, created_by=who.user_id, created_at=now,
            updated_at=now,
        ).returning(involvement.c.id)
    ).scalar_one())
    _audit(conn, who, AuditAction.INVOLVEMENT_RECORD, row.child_id,
           {"involvement": new_id, "service_type": d.service_type.value,
            "sensitive": d.sensitive, "consent_basis": d.consent_basis.value,
            "assessment_status": d.assessment_status.value,
            "lead_professional": d.lead_professional}, now)
    return _get(conn, who, row, new_id)


def _get(conn: Connection, who: Practitioner, row: history.ChildRow,
         involvement_id: int) -> Recorded:
    """``who``'s organisation's involvement ``involvement_id`` on the child ``row`` (or on a
    child merged into it); anything else is "not found"."""
    found = conn.execute(select(involvement).where(involvement.c.id == involvement_id)).first()
    if found is None or found.org_code != who.org_code:
        raise NotFound(NOT_FOUND)
    if history.resolve_key(conn, int(found.child_key)).key != row.key:
        raise NotFound(NOT_FOUND)
    return _recorded(found, row.child_id)


def get(conn: Connection, who: Practitioner, child_id: str, involvement_id: int) -> Recorded:
    return _get(conn, who, _live_child(conn, child_id), involvement_id)


def organisation_involvements(conn: Connection, who: Practitioner,
                              child_id: str) -> list[Recorded]:
    """The involvements ``who``'s organisation recorded with the child, ceased ones too.
    A child the organisation never recorded anything about is "not found" (an empty list
    would confirm that the id exists)."""
    row = _live_child(conn, child_id)
    rows = queries.recorded_rows(conn, row.key, org_code=who.org_code)
    if not rows:
        raise NotFound(NOT_FOUND)
    return [_recorded(r, row.child_id) for r in rows]


def change(conn: Connection, who: Practitioner, child_id: str, involvement_id: int,
           changes: Mapping[str, Any], *, now: datetime | None = None) -> Recorded:
    """Change fields of a current involvement of ``who``'s organisation (audited)."""
    now = now or utcnow()
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValidationFailed(f"cannot change: {', '.join(sorted(unknown))}")
    row = _live_child(conn, child_id)
    held = _get(conn, who, row, involvement_id)
    if held.status is InvolvementStatus.CEASED:
        raise Conflict("this involvement has ceased: record a new one instead")
    d = validated(replace(held.details, **changes))
    changed = sorted(f.name for f in fields(Details)
                     if getattr(d, f.name) != getattr(held.details, f.name))
    if not changed:
        return held
    done = conn.execute(update(involvement).where(
        involvement.c.id == involvement_id,
        involvement.c.status == InvolvementStatus.CURRENT.value,  # not ceased meanwhile
    ).values(
        service_type=d.service_type.value, practitioner_name=d.practitioner_name,
        practitioner_role=d.practitioner_role, practitioner_phone=d.practitioner_phone,
        practitioner_email=d.practitioner_email, assessment_status=d.assessment_status.value,
        lead_professional=d.lead_professional, sensitive=d.sensitive,
        consent_basis=d.consent_basis.value, start=d.start, end=d.end, updated_at=now))
    if done.rowcount != 1:
        raise Conflict("this involvement has ceased: record a new one instead")
    _audit(conn, who, AuditAction.INVOLVEMENT_UPDATE, row.child_id,
           {"involvement": involvement_id, "fields": changed,
            "service_type": d.service_type.value, "sensitive": d.sensitive,
            "consent_basis": d.consent_basis.value,
            "assessment_status": d.assessment_status.value,
            "lead_professional": d.lead_professional}, now)
    return _get(conn, who, row, involvement_id)


def cease(conn: Connection, who: Practitioner, child_id: str, involvement_id: int, *,
          end: date | None = None, now: datetime | None = None) -> Recorded:
    """Mark an involvement of ``who``'s organisation ceased on ``end`` (default today)."""
    now = now or utcnow()
    row = _live_child(conn, child_id)
    held = _get(conn, who, row, involvement_id)
    if held.status is InvolvementStatus.CEASED:
        raise Conflict("this involvement has ceased already")
    end = end or now.date()
    if end > now.date():
        raise ValidationFailed("end: a ceased involvement ends today or earlier")
    if held.details.start is not None and end < held.details.start:
        raise ValidationFailed("end: before start")
    done = conn.execute(update(involvement).where(
        involvement.c.id == involvement_id,
        involvement.c.status == InvolvementStatus.CURRENT.value,  # one cease wins a race
    ).values(status=InvolvementStatus.CEASED.value, end=end, updated_at=now))
    if done.rowcount != 1:
        raise Conflict("this involvement has ceased already")
    _audit(conn, who, AuditAction.INVOLVEMENT_CEASE, row.child_id,
           {"involvement": involvement_id, "end": end.isoformat()}, now)
    return _get(conn, who, row, involvement_id)


__all__ = [
    "CHANGEABLE", "NOT_FOUND", "CurrentInvolvement", "Details", "InvolvementOrigin",
    "Practitioner", "Recorded", "cease", "change", "get", "may_engage",
    "organisation_involvements", "record", "validated",
]
