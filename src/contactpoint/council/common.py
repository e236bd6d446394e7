"""Small helpers the council services share: the child behind a public id, the audit entry,
and the one refusal every child-scoped action gives (unknown, not in your care, not shielded:
the same 404, so a refusal never tells whether a child exists)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from contactpoint.access.models import AuditContext, Principal
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db.tables import child
from contactpoint.errors import NotFound
from contactpoint.linking.history import ChildRow, resolve_child

NO_SUCH_CHILD = "no such child"


def no_such_child() -> NotFound:
    return NotFound(NO_SUCH_CHILD)


def find_child(conn: Connection, child_id: str) -> ChildRow:
    """The current child behind ``child_id`` (merged ids redirect); :class:`NotFound` else."""
    return resolve_child(conn, child_id)


def child_ids(conn: Connection, keys: set[int]) -> dict[int, str]:
    if not keys:
        return {}
    return {int(k): str(c) for k, c in conn.execute(
        select(child.c.id, child.c.child_id).where(child.c.id.in_(sorted(keys))))}


def audit(conn: Connection, actor: Principal, request_id: str | None, action: AuditAction, *,
          subject: str, details: Mapping[str, Any], at: datetime,
          reason: str | None = None) -> None:
    """Append the council service's audit entry for ``actor`` (in the caller's transaction)."""
    ctx = AuditContext.of(actor, request_id)
    trail.append(conn, action=action, actor=ctx.actor, organisation=ctx.organisation,
                 request_id=ctx.request_id, reason=reason, subject=subject, details=details,
                 at=at)
