"""search_key loses its index on child_key: no statement reads the table by child

Revision ID: 0022_search_key_no_child_index
Revises: 0021_search_key_bytewise
Create Date: 2026-12-07 19:45:00

Search reaches ``search_key`` by its retrieval paths and joins ``child`` by the child's own
key; merges and unmerges move rows by ``record_key`` (the primary key). The index on
``child_key`` was read by nothing, and every first run built it over every record (issue 18),
and every merge maintained it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022_search_key_no_child_index"
down_revision: str | Sequence[str] | None = "0021_search_key_bytewise"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_search_key_child", table_name="search_key")


def downgrade() -> None:
    op.create_index("ix_search_key_child", "search_key", ["child_key"])
