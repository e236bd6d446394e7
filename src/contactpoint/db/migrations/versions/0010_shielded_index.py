"""a partial index of the shielded children

Revision ID: 0010_shielded_index
Revises: 0009_checks_as_equalities
Create Date: 2026-11-25 21:10:00

Every link run reads the shielded children (their records stay findable, their holds go to
review); they are a handful among a million, and without an index each read scans the whole
``child`` table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_shielded_index"
down_revision: str | Sequence[str] | None = "0009_checks_as_equalities"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_child_shielded", "child", ["id"], postgresql_where=sa.text("shielded"),
                    sqlite_where=sa.text("shielded"))


def downgrade() -> None:
    op.drop_index("ix_child_shielded", table_name="child")
