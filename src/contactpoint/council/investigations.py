"""Investigations: opened automatically when a shield is overridden (the view's override calls
:func:`open_investigation` in the same transaction), for the child's responsible council,
which records the outcome; auditors list them all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.access.tables import app_user, organisation
from contactpoint.audit.trail import AuditAction
from contactpoint.council.common import audit
from contactpoint.council.policy import council_area, council_refusal
from contactpoint.council.tables import investigation
from contactpoint.db.base import utcnow
from contactpoint.db.tables import child
from contactpoint.domain.council import InvestigationOutcome, InvestigationStatus
from contactpoint.errors import Conflict, NotFound, PermissionDenied, ReasonRequired


@dataclass(frozen=True)
class Investigation:
    id: int
    child_id: str
    username: str
    organisation: str
    la_code: str | None
    reason: str
    status: str
    opened_at: datetime
    outcome: str | None
    outcome_reason: str | None
    closed_by: str | None
    closed_at: datetime | None


def open_investigation(conn: Connection, child_key: int, user: Principal, reason: str, *,
                       now: datetime | None = None,
                       request_id: str | None = None) -> Investigation:
    """Open an investigation of ``user``'s override of ``child_key``'s shield (``child.id``),
    for the child's responsible council, and audit it (in the caller's transaction)."""
    now = now or utcnow()
    if user.kind != "user":
        raise PermissionDenied("only a signed-in person may override a shield")
    if not reason or not reason.strip():
        raise ReasonRequired("a reason is required")
    row = conn.execute(select(child.c.child_id, child.c.owning_la).where(
        child.c.id == child_key)).first()
    if row is None:
        raise NotFound("no such child")
    iid = int(conn.execute(insert(investigation).values(
        child_key=child_key, user_id=user.id, la_code=row.owning_la, reason=reason.strip(),
        status=InvestigationStatus.OPEN, opened_at=now).returning(investigation.c.id)
    ).scalar_one())
    audit(conn, user, request_id, AuditAction.INVESTIGATION_OPEN,
          reason=reason.strip(), subject=f"child:{row.child_id}",
          details={"investigation": iid, "la_code": row.owning_la}, at=now)
    return _list(conn, [investigation.c.id == iid])[0]


def _list(conn: Connection, where: list[object]) -> list[Investigation]:
    i = investigation.c
    stmt = (select(investigation, child.c.child_id, app_user.c.username,
                   organisation.c.code.label("org_code"))
            .join(child, child.c.id == i.child_key).join(app_user, app_user.c.id == i.user_id)
            .join(organisation, organisation.c.id == app_user.c.organisation_id)
            .order_by(i.id))
    for w in where:
        stmt = stmt.where(w)  # type: ignore[arg-type]
    return [Investigation(int(r.id), r.child_id, r.username, r.org_code, r.la_code, r.reason,
                          r.status, r.opened_at, r.outcome, r.outcome_reason, r.closed_by,
                          r.closed_at) for r in conn.execute(stmt)]


def for_council(conn: Connection, la_code: str, *, open_only: bool = False) -> list[Investigation]:
    where: list[object] = [investigation.c.la_code == la_code]
    if open_only:
        where.append(investigation.c.status == InvestigationStatus.OPEN)
    return _list(conn, where)


def for_team(conn: Connection, actor: Principal, *, open_only: bool = False) -> list[Investigation]:
    """The investigations of the actor's council (none for anyone who is not its team)."""
    area = council_area(actor)
    if area is None:
        return []
    return for_council(conn, area, open_only=open_only)


def one_for_council(conn: Connection, investigation_id: int, actor: Principal) -> Investigation:
    """One investigation, for the responsible council's team; another's is not there for you."""
    found = _list(conn, [investigation.c.id == investigation_id])
    if not found or council_refusal(actor, found[0].la_code,
                                    Permission.COUNCIL_INVESTIGATION_DECIDE) is not None:
        raise NotFound("no such investigation")
    return found[0]


def record_outcome(conn: Connection, investigation_id: int, actor: Principal,
                   outcome: InvestigationOutcome, *, reason: str | None, now: datetime,
                   request_id: str | None = None) -> Investigation:
    found = [one_for_council(conn, investigation_id, actor)]
    if found[0].status != InvestigationStatus.OPEN:
        raise Conflict("this investigation is already closed")
    conn.execute(update(investigation).where(investigation.c.id == investigation_id).values(
        status=InvestigationStatus.CLOSED, outcome=outcome.value,
        outcome_reason=(reason or "").strip() or None, closed_by=actor.actor, closed_at=now))
    audit(conn, actor, request_id, AuditAction.INVESTIGATION_OUTCOME,
          reason=reason,
          subject=f"child:{found[0].child_id}",
          details={"investigation": investigation_id, "outcome": outcome.value}, at=now)
    return _list(conn, [investigation.c.id == investigation_id])[0]


def for_auditor(conn: Connection, actor: Principal, *, now: datetime,
                request_id: str | None = None) -> list[Investigation]:
    """Every investigation (open and closed), for an auditor; the listing is audited."""
    if not actor.has(Permission.AUDIT_INVESTIGATION_READ):
        raise PermissionDenied("not permitted")
    found = _list(conn, [])
    audit(conn, actor, request_id, AuditAction.INVESTIGATION_LIST,
          subject="investigations", details={"count": len(found)}, at=now)
    return found
