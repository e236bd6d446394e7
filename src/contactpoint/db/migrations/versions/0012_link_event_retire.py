"""link_event kind 'retire': a link run takes retired and deleted records off the queue

Revision ID: 0012_link_event_retire
Revises: 0011_record_link
Create Date: 2026-11-26 01:55:00

A retired or deleted record stayed on ``link_queue`` for good: the queue, every day's read of
it and the engine's "what changed" grew with every retirement. A link run now takes such a
record off the queue once the engine's store has taken the retirement in, and writes a
``link_event`` of kind ``retire`` for a record that had a child, so a store at any earlier mark
still learns of it. SQLite rebuilds the table to change a CHECK: its append-only triggers are
made again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_link_event_retire"
down_revision: str | Sequence[str] | None = "0011_record_link"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = "kind IN ('link', 'hold', 'merge', 'unmerge', 'retire')"
_OLD = "kind IN ('link', 'hold', 'merge', 'unmerge')"


def _replace(condition: str) -> None:
    with op.batch_alter_table("link_event", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_link_event_kind"), type_="check")
        batch_op.create_check_constraint("kind", condition)
    if op.get_bind().dialect.name == "sqlite":  # the rebuilt table has no triggers
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS link_event_no_{action.lower()} BEFORE {action} "
                "ON link_event BEGIN SELECT RAISE(ABORT, 'link_event is append-only'); END"
            )


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    """Refused once a run has written a ``retire`` event: the history is append-only and the
    old CHECK cannot hold it."""
    n = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM link_event WHERE kind = 'retire'")).scalar_one()
    if n:
        raise RuntimeError(f"link_event holds {n} 'retire' events, which 0011 cannot hold "
                           "(the history is append-only): not downgrading")
    _replace(_OLD)
