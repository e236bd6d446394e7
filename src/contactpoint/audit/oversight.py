"""Oversight queries over the audit trail: who looked at a child, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from contactpoint.audit.tables import audit_child, audit_event
from contactpoint.audit.trail import AuditAction, AuditEntry, entry_from_row


def child_access(
    conn: Connection,
    child_id: str,
    *,
    actions: frozenset[AuditAction] | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Every event that returned or showed ``child_id`` (searches, views, changes), oldest
    first: actor, organisation, time, stated reason and details. One indexed query."""
    stmt = (
        select(audit_event)
        .join(audit_child, audit_child.c.seq == audit_event.c.seq)
        .where(audit_child.c.child_id == child_id)
    )
    if actions is not None:
        stmt = stmt.where(audit_event.c.action.in_(sorted(a.value for a in actions)))
    if actor is not None:
        stmt = stmt.where(audit_event.c.actor == actor)
    if since is not None:
        stmt = stmt.where(audit_event.c.at >= since)
    rows = conn.execute(stmt.order_by(audit_event.c.seq).limit(limit)).all()
    return [entry_from_row(row) for row in rows]


def returned_recently(conn: Connection, child_id: str, actor: str, since: datetime) -> bool:
    """Did ``actor`` run a search since ``since`` that returned ``child_id``?"""
    stmt = (
        select(audit_event.c.seq)
        .join(audit_child, audit_child.c.seq == audit_event.c.seq)
        .where(audit_child.c.child_id == child_id, audit_event.c.actor == actor,
               audit_event.c.action == AuditAction.CHILD_SEARCH.value,
               audit_event.c.at >= since)
        .limit(1)
    )
    return conn.execute(stmt).first() is not None


def stated_reason_of(
    conn: Connection, seq: int, *, child_id: str, actor: str, since: datetime
) -> str | None:
    """The reason ``actor`` stated in their own search that returned ``child_id``, or in
    their own view that showed it, recorded as entry ``seq`` since ``since``; ``None`` for any
    other entry (another person's, older, about another child, a refused view)."""
    stmt = (
        select(audit_event)
        .join(audit_child, audit_child.c.seq == audit_event.c.seq)
        .where(audit_event.c.seq == seq, audit_child.c.child_id == child_id,
               audit_event.c.actor == actor, audit_event.c.at >= since,
               audit_event.c.action.in_((AuditAction.CHILD_SEARCH.value,
                                         AuditAction.CHILD_VIEW.value)))
        .limit(1)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    entry = entry_from_row(row)
    if entry.action == AuditAction.CHILD_VIEW.value and entry.details.get("outcome") != "shown":
        return None
    return entry.reason
