"""Merges, unmerges and child-id redirects: events with full history, nothing destroyed.

A merge moves every source record of the absorbed child to the survivor (the older child),
marks the absorbed child ``merged`` with ``merged_into_id`` pointing at the survivor, and gives
the survivor the most protective of both children's protections (shield, retained-to-25, owning
LA). An unmerge moves named records back out, to the child they came from when it can be
restored, or to a new child; both parts keep the protections. Every move writes ``link_event``
rows and one ``merge_event``; neither table is ever updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, select, update

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.council.carry import carry_shields
from contactpoint.db.base import utcnow
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.domain.identifiers import InvalidIdentifier, parse_child_id
from contactpoint.errors import Conflict, NotFound, ValidationFailed
from contactpoint.linking import responsibility, search_keys, store
from contactpoint.linking.tables import link_event, merge_event, review_decision

MAX_REDIRECTS = 64


@dataclass(frozen=True)
class ChildRow:
    key: int
    child_id: str
    status: str
    shielded: bool
    owning_la: str | None
    retained_to_25: bool
    merged_into_id: int | None


def _row(conn: Connection, **where: Any) -> ChildRow | None:
    stmt = select(
        child.c.id, child.c.child_id, child.c.status, child.c.shielded, child.c.owning_la,
        child.c.retained_to_25, child.c.merged_into_id,
    )
    for col, value in where.items():
        stmt = stmt.where(child.c[col] == value)
    r = conn.execute(stmt).first()
    if r is None:
        return None
    return ChildRow(int(r[0]), r[1], r[2], bool(r[3]), r[4], bool(r[5]),
                    None if r[6] is None else int(r[6]))


def child_by_key(conn: Connection, key: int) -> ChildRow:
    row = _row(conn, id=key)
    if row is None:
        raise NotFound("no such child")
    return row


def resolve_key(conn: Connection, key: int) -> ChildRow:
    """The current child for a child key, following merges."""
    row = child_by_key(conn, key)
    for _ in range(MAX_REDIRECTS):
        if row.status != "merged" or row.merged_into_id is None:
            return row
        row = child_by_key(conn, row.merged_into_id)
    raise Conflict("child merge chain too long or circular")


def resolve_child(conn: Connection, child_id: str) -> ChildRow:
    """The current child behind a public child id: an id that disappeared in a merge redirects
    to its survivor. Raises :class:`NotFound` for an unknown or malformed id."""
    try:
        parse_child_id(child_id)
    except InvalidIdentifier as exc:
        raise NotFound("no such child") from exc
    row = _row(conn, child_id=child_id.replace(" ", ""))
    if row is None:
        raise NotFound("no such child")
    return resolve_key(conn, row.key)


def nhs_numbers(conn: Connection, child_key: int) -> set[str]:
    rows = conn.execute(
        select(source_record.c.nhs_number).join(
            record_link, record_link.c.record_key == source_record.c.id).where(
            record_link.c.child_key == child_key,
            source_record.c.record_status == "active",
            source_record.c.nhs_number.is_not(None),
        )
    ).scalars()
    return set(rows)


def _record_keys(conn: Connection, child_key: int) -> list[int]:
    return [int(k) for k in conn.execute(
        select(record_link.c.record_key).where(record_link.c.child_key == child_key)
        .order_by(record_link.c.record_key)
    ).scalars()]


def _move(conn: Connection, keys: list[int], to: int, kind: str, event_id: int,
          now: datetime) -> None:
    frame = pl.DataFrame(
        {"record_key": keys, "child_key": [to] * len(keys), "band": ["clerical"] * len(keys),
         "match_probability": [None] * len(keys)},
        schema=store.ASSIGN_SCHEMA,
    )
    store.apply_assignments(conn, frame, kind=kind, now=now, merge_event_id=event_id,
                            settle=False)
    search_keys.follow(conn, keys, to)


def merge(
    conn: Connection,
    key_a: int,
    key_b: int,
    *,
    actor: str | None = None,
    reason: str | None = None,
    force: bool = False,
    review_item_id: int | None = None,
    now: datetime | None = None,
) -> ChildRow:
    """Merge two children; returns the survivor. Refuses two different NHS numbers unless
    ``force`` (recorded on the event)."""
    store.lock_linkage(conn)
    now = now or utcnow()
    a, b = resolve_key(conn, key_a), resolve_key(conn, key_b)
    if a.key == b.key:
        return a
    if not force:
        na, nb = nhs_numbers(conn, a.key), nhs_numbers(conn, b.key)
        if na and nb and na != nb:
            raise Conflict(
                "these children carry different NHS numbers: refusing to merge them "
                "(use --force to override; the override is recorded)"
            )
    survivor, absorbed = (a, b) if a.key < b.key else (b, a)
    shielded = a.shielded or b.shielded
    retained = a.retained_to_25 or b.retained_to_25
    owning_la = survivor.owning_la or absorbed.owning_la
    keys = _record_keys(conn, absorbed.key)
    event_id = int(conn.execute(
        insert(merge_event).values(
            kind="merge", from_child_key=absorbed.key, into_child_key=survivor.key,
            record_count=len(keys), forced=force, shielded=shielded, actor=actor,
            reason=reason, review_item_id=review_item_id, created_at=now,
        ).returning(merge_event.c.id)
    ).scalar_one())
    _move(conn, keys, survivor.key, "merge", event_id, now)
    conn.execute(update(child).where(child.c.id == absorbed.key).values(
        status="merged", merged_into_id=survivor.key, updated_at=now))
    status = "active" if "active" in (a.status, b.status) else survivor.status
    conn.execute(update(child).where(child.c.id == survivor.key).values(
        shielded=shielded, retained_to_25=retained, owning_la=owning_la, status=status,
        updated_at=now))
    carry_shields(conn, absorbed.key, survivor.key, now)
    responsibility.allocate(conn, [survivor.key], now=now, actor=actor or "system:merge")
    return child_by_key(conn, survivor.key)


def _previous_child(conn: Connection, current: int, keys: list[int]) -> int | None:
    """The one child all ``keys`` were merged out of into ``current``, when there is one."""
    prev: set[int | None] = set()
    for key in keys:
        row = conn.execute(
            select(link_event.c.previous_child_key)
            .where(link_event.c.record_key == key, link_event.c.kind == "merge",
                   link_event.c.child_key == current)
            .order_by(link_event.c.id.desc()).limit(1)
        ).first()
        prev.add(None if row is None or row[0] is None else int(row[0]))
    if len(prev) != 1:
        return None
    return prev.pop()


def unmerge(
    conn: Connection,
    child_key: int,
    record_keys: list[int],
    *,
    to_new: bool = False,
    actor: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> ChildRow:
    """Split ``record_keys`` out of ``child_key``; returns the child they now belong to.

    They go back to the child they were merged out of when that child can be restored (and
    ``to_new`` is false), else to a new child. Both parts keep the shield (with a copy of each
    active shield record), LA ownership and retention. Each moved record is remembered as
    *different* from each record left behind, so later runs never join them again. Appends the
    audit entry (``actor``) in the caller's transaction.
    """
    store.lock_linkage(conn)
    now = now or utcnow()
    current = resolve_key(conn, child_key)
    on_child = set(_record_keys(conn, current.key))
    moving = sorted(set(record_keys))
    if not moving:
        raise ValidationFailed("name at least one source record to split out")
    stray = [k for k in moving if k not in on_child]
    if stray:
        raise ValidationFailed(f"{len(stray)} of the named records are not on this child")
    staying = sorted(on_child - set(moving))
    if not staying:
        raise ValidationFailed("an unmerge must leave at least one record on the child")
    prev = None if to_new else _previous_child(conn, current.key, moving)
    target: ChildRow | None = None
    if prev is not None:
        p = child_by_key(conn, prev)
        if p.status == "merged" and p.merged_into_id == current.key:
            conn.execute(update(child).where(child.c.id == p.key).values(
                status="active", merged_into_id=None,
                shielded=p.shielded or current.shielded,
                retained_to_25=p.retained_to_25 or current.retained_to_25,
                owning_la=p.owning_la or current.owning_la, updated_at=now))
            target = child_by_key(conn, p.key)
    if target is None:
        protections = pl.DataFrame(
            {"shielded": [current.shielded], "owning_la": [current.owning_la],
             "retained_to_25": [current.retained_to_25]},
            schema={"shielded": pl.Boolean(), "owning_la": pl.Utf8(),
                    "retained_to_25": pl.Boolean()},
        )
        (new_key,) = store.create_children(conn, protections, now)
        target = child_by_key(conn, new_key)
    event_id = int(conn.execute(
        insert(merge_event).values(
            kind="unmerge", from_child_key=current.key, into_child_key=target.key,
            record_count=len(moving), forced=False, shielded=target.shielded, actor=actor,
            reason=reason, created_at=now,
        ).returning(merge_event.c.id)
    ).scalar_one())
    _move(conn, moving, target.key, "unmerge", event_id, now)
    carry_shields(conn, current.key, target.key, now)
    responsibility.allocate(conn, [current.key, target.key], now=now,
                            actor=actor or "system:unmerge")
    vetoes = [
        {"record_key_l": min(m, s), "record_key_r": max(m, s), "outcome": "different",
         "forced": False, "actor": actor, "reason": reason or "unmerge", "decided_at": now}
        for m in moving for s in staying
    ]
    conn.execute(insert(review_decision), vetoes)
    trail.append(conn, action=AuditAction.UNMERGE, actor=actor, organisation=None,
                 reason=reason, subject=f"child:{current.child_id}",
                 details={"records": len(moving), "into": target.child_id,
                          "merge_event": event_id})
    return target


def child_has_active_records(conn: Connection, child_key: int) -> bool:
    return conn.execute(
        select(source_record.c.id).join(
            record_link, record_link.c.record_key == source_record.c.id).where(
            record_link.c.child_key == child_key, source_record.c.record_status == "active"
        ).limit(1)
    ).first() is not None


__all__ = [
    "ChildRow", "child_by_key", "child_has_active_records", "merge", "nhs_numbers",
    "resolve_child", "resolve_key", "unmerge",
]

