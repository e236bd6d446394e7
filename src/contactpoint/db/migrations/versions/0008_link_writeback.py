"""link write-back: no FK check on source_record.child_id

Revision ID: 0008_link_writeback
Revises: 0006_import_speed
Create Date: 2026-11-25 17:40:00

A first link run points millions of source records at their children in one statement; the
foreign key ``source_record.child_id -> child`` ran one trigger query per row and took a
key-share lock on every child row (dirtying the child table as well). Only the linker writes
``child_id``, in the transaction that creates the child, and children are never deleted; a
test checks that no link, merge or unmerge leaves a dangling reference (ADR 0005's reasoning,
applied to the link column).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_link_writeback"
down_revision: str | Sequence[str] | None = "0006_import_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_source_record_child_id_child"


def upgrade() -> None:
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.drop_constraint(_FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.create_foreign_key(_FK, "child", ["child_id"], ["id"])
