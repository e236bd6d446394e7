"""Shields follow the child through merges and unmerges (called by
:mod:`contactpoint.linking.history`): the child that keeps or receives the records gets a copy
of each active shield it does not already have, pointing back at the original."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from contactpoint.council.tables import child_shield
from contactpoint.domain.council import ShieldStatus


def carry_shields(conn: Connection, from_key: int, to_key: int, now: datetime) -> int:
    """Copy ``from_key``'s active shields to ``to_key`` unless it already has an active one;
    returns how many were copied."""
    if from_key == to_key:
        return 0
    c = child_shield.c
    has = conn.execute(select(c.id).where(c.child_key == to_key,
                                          c.status == ShieldStatus.ACTIVE).limit(1)).first()
    if has is not None:
        return 0
    rows = conn.execute(select(child_shield).where(
        c.child_key == from_key, c.status == ShieldStatus.ACTIVE)).mappings().all()
    for r in rows:
        conn.execute(insert(child_shield).values(
            child_key=to_key, status=ShieldStatus.ACTIVE, la_code=r["la_code"],
            reason=r["reason"], review_on=r["review_on"], set_by=r["set_by"], set_at=now,
            carried_from_id=r["id"]))
    return len(rows)
