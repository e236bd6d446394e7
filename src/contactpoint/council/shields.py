"""Shields set and removed by the responsible council's team, each with a reason and a review
date; every change is kept (``child_shield``) and audited in the same transaction.

A shield is a property of the child: ``child.shielded`` is what linking reads (a feed's record
that only weakly matches a shielded child is held, never made a new unshielded child) and it
follows the child through every re-link, merge and unmerge (:mod:`.carry`). Setting a shield
on a child that has one renews it (the old row is closed as reviewed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.audit.trail import AuditAction
from contactpoint.council.common import audit, find_child, no_such_child
from contactpoint.council.policy import council_refusal
from contactpoint.council.tables import child_shield
from contactpoint.db.tables import child
from contactpoint.domain.council import ShieldReviewState, ShieldStatus, shield_review_state
from contactpoint.errors import Conflict, ReasonRequired, ValidationFailed

MAX_REVIEW_DAYS = 366


@dataclass(frozen=True)
class Shield:
    id: int
    child_id: str
    status: str
    la_code: str
    reason: str
    review_on: date
    set_by: str
    set_at: datetime
    removed_by: str | None
    removed_at: datetime | None
    removal_reason: str | None
    carried_from_id: int | None


def _reason(text: str | None) -> str:
    if text is None or not text.strip():
        raise ReasonRequired("a reason is required")
    return text.strip()


def _rows(conn: Connection, child_key: int, child_id: str) -> list[Shield]:
    c = child_shield.c
    return [Shield(int(r.id), child_id, r.status, r.la_code, r.reason, r.review_on, r.set_by,
                   r.set_at, r.removed_by, r.removed_at, r.removal_reason,
                   None if r.carried_from_id is None else int(r.carried_from_id))
            for r in conn.execute(select(child_shield).where(c.child_key == child_key)
                                  .order_by(c.id))]


def set_shield(conn: Connection, child_id: str, actor: Principal, *, reason: str | None,
               review_on: date, now: datetime, request_id: str | None = None) -> Shield:
    """Shield a child of the actor's council (or renew its shield)."""
    row = find_child(conn, child_id)
    if council_refusal(actor, row.owning_la, Permission.RECORD_SHIELD_SET) is not None:
        raise no_such_child()
    why = _reason(reason)
    today = now.date()
    if review_on <= today or review_on > today + timedelta(days=MAX_REVIEW_DAYS):
        raise ValidationFailed("review_on must be after today and within a year")
    c = child_shield.c
    renewed = conn.execute(
        update(child_shield).where(c.child_key == row.key, c.status == ShieldStatus.ACTIVE)
        .values(status=ShieldStatus.REMOVED, removed_by=actor.actor, removed_at=now,
                removal_reason="reviewed: renewed").returning(c.id)).scalars().all()
    sid = int(conn.execute(insert(child_shield).values(
        child_key=row.key, status=ShieldStatus.ACTIVE, la_code=row.owning_la, reason=why,
        review_on=review_on, set_by=actor.actor, set_at=now).returning(c.id)).scalar_one())
    conn.execute(update(child).where(child.c.id == row.key).values(shielded=True, updated_at=now))
    audit(conn, actor, request_id, AuditAction.SHIELD_SET,
          reason=why,
          subject=f"child:{row.child_id}",
          details={"shield": sid, "review_on": review_on.isoformat(),
                   "renewed": [int(r) for r in renewed]}, at=now)
    return next(s for s in _rows(conn, row.key, row.child_id) if s.id == sid)


def remove_shield(conn: Connection, child_id: str, actor: Principal, *, reason: str | None,
                  now: datetime, request_id: str | None = None) -> list[Shield]:
    row = find_child(conn, child_id)
    if council_refusal(actor, row.owning_la, Permission.RECORD_SHIELD_SET) is not None:
        raise no_such_child()
    why = _reason(reason)
    if not row.shielded:
        raise Conflict("this child is not shielded")
    c = child_shield.c
    closed = conn.execute(
        update(child_shield).where(c.child_key == row.key, c.status == ShieldStatus.ACTIVE)
        .values(status=ShieldStatus.REMOVED, removed_by=actor.actor, removed_at=now,
                removal_reason=why).returning(c.id)).scalars().all()
    conn.execute(update(child).where(child.c.id == row.key).values(shielded=False,
                                                                   updated_at=now))
    audit(conn, actor, request_id, AuditAction.SHIELD_REMOVE,
          reason=why,
          subject=f"child:{row.child_id}",
          details={"shields": [int(i) for i in closed]}, at=now)
    return _rows(conn, row.key, row.child_id)


def history(conn: Connection, child_id: str, actor: Principal) -> list[Shield]:
    """Every shield of a child of the actor's council, oldest first."""
    row = find_child(conn, child_id)
    if council_refusal(actor, row.owning_la, Permission.RECORD_SHIELD_SET) is not None:
        raise no_such_child()
    return _rows(conn, row.key, row.child_id)


@dataclass(frozen=True)
class ShieldReview:
    child_id: str
    shield_id: int
    review_on: date
    state: ShieldReviewState


def reviews(conn: Connection, la_code: str, today: date, *, notice_days: int = 28,
            include_later: bool = False) -> list[ShieldReview]:
    """Active shields on the council's live children, by review date: overdue and due (within
    ``notice_days``), and the rest too with ``include_later``."""
    c = child_shield.c
    stmt = (select(c.id, c.review_on, child.c.child_id).join(child, child.c.id == c.child_key)
            .where(c.status == ShieldStatus.ACTIVE, child.c.owning_la == la_code,
                   child.c.status != "merged", child.c.shielded.is_(True))
            .order_by(c.review_on, c.id))
    if not include_later:
        stmt = stmt.where(c.review_on <= today + timedelta(days=notice_days))
    return [ShieldReview(cid, int(sid), on, shield_review_state(on, today, notice_days))
            for sid, on, cid in conn.execute(stmt)]
