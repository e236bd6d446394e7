"""Small helpers the council services share: the child behind a public id, the audit context,
and the one refusal every child-scoped action gives (unknown, not in your care, not shielded:
the same 404, so a refusal never tells whether a child exists)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from contactpoint.access.models import AuditContext, Principal
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


def context(actor: Principal, request_id: str | None) -> AuditContext:
    return AuditContext.of(actor, request_id)
