"""A child's link history (the source records on it and the merges and unmerges it took part
in) and the unmerge a reviewer asks for by naming records as ``SOURCE:SOURCE_RECORD_ID``.

For people (the review pages and ``/api/children/{id}/links|unmerge``): the same permission
as the review queue (``linkage:review:decide``), and a reason for every unmerge.
:func:`history.unmerge` writes the events and the audit entry. The history holds references
only (sources, record ids, child ids, dates): no names, addresses or dates of birth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.errors import PermissionDenied, ReasonRequired, ValidationFailed
from contactpoint.linking import history
from contactpoint.linking.history import ChildRow
from contactpoint.linking.tables import merge_event


@dataclass(frozen=True)
class LinkedRecord:
    source_code: str
    source_record_id: str
    record_status: str

    @property
    def ref(self) -> str:
        return f"{self.source_code}:{self.source_record_id}"


@dataclass(frozen=True)
class MergeEvent:
    id: int
    kind: str  # merge | unmerge
    from_child_id: str
    into_child_id: str
    record_count: int
    forced: bool
    actor: str | None
    reason: str | None
    review_item_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class ChildLinks:
    child: ChildRow
    records: list[LinkedRecord]
    events: list[MergeEvent]  # newest first


def _reviewer(actor: Principal) -> None:
    if not actor.has(Permission.LINKAGE_REVIEW_DECIDE):
        raise PermissionDenied("not permitted")


def links_of(conn: Connection, child_id: str, actor: Principal) -> ChildLinks:
    """The child behind ``child_id`` (merged ids redirect), its records and its events."""
    _reviewer(actor)
    row = history.resolve_child(conn, child_id)
    s = source_record.c
    records = [LinkedRecord(r.source_code, r.source_record_id, r.record_status)
               for r in conn.execute(
                   select(s.source_code, s.source_record_id, s.record_status)
                   .join(record_link, record_link.c.record_key == s.id)
                   .where(record_link.c.child_key == row.key)
                   .order_by(s.source_code, s.source_record_id))]
    m = merge_event.c
    found = conn.execute(select(merge_event).where(
        or_(m.from_child_key == row.key, m.into_child_key == row.key))
        .order_by(m.id.desc())).all()
    keys = {int(e.from_child_key) for e in found} | {int(e.into_child_key) for e in found}
    ids = {int(k): str(c) for k, c in conn.execute(
        select(child.c.id, child.c.child_id).where(child.c.id.in_(sorted(keys))))} if keys else {}
    events = [MergeEvent(int(e.id), e.kind, ids[int(e.from_child_key)],
                         ids[int(e.into_child_key)], int(e.record_count), bool(e.forced),
                         e.actor, e.reason,
                         None if e.review_item_id is None else int(e.review_item_id),
                         e.created_at) for e in found]
    return ChildLinks(row, records, events)


def record_keys(conn: Connection, refs: list[str]) -> list[int]:
    """``SOURCE:SOURCE_RECORD_ID`` references to source record keys."""
    keys = []
    for ref in refs:
        source, _, srid = ref.strip().partition(":")
        if not source or not srid:
            raise ValidationFailed(f"{ref!r}: give records as SOURCE:SOURCE_RECORD_ID")
        key = conn.execute(select(source_record.c.id).where(
            source_record.c.source_code == source, source_record.c.source_record_id == srid)
        ).scalar()
        if key is None:
            raise ValidationFailed(f"no source record {ref!r}")
        keys.append(int(key))
    return keys


def split(conn: Connection, child_id: str, refs: list[str], actor: Principal, *,
          reason: str | None, to_new: bool = False,
          now: datetime | None = None) -> tuple[ChildRow, ChildRow]:
    """Unmerge: move the named records out of the child (back to the child they came from, or
    to a new one). Returns (the child they left, the child they now belong to)."""
    _reviewer(actor)
    if not reason or not reason.strip():
        raise ReasonRequired("a reason is required")
    current = history.resolve_child(conn, child_id)
    keys = record_keys(conn, refs)
    target = history.unmerge(conn, current.key, keys, to_new=to_new, actor=actor.actor,
                             reason=reason.strip(), now=now)
    return current, target
