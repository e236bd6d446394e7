"""search_key's key columns compared byte by byte on PostgreSQL (COLLATE "C")

Revision ID: 0021_search_key_bytewise
Revises: 0020_merge
Create Date: 2026-12-07 14:20:00

The keys are matched for equality only (never sorted for people), so the linguistic collation
bought nothing, and PostgreSQL sorts it with ``strcoll`` per comparison where "C" text sorts
with abbreviated keys: a first run builds the retrieval indexes over every key, ~1.7x faster
in "C". ``ALTER COLUMN ... TYPE`` rebuilds the indexes on the altered columns in place.
SQLite compares bytes already: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021_search_key_bytewise"
down_revision: str | Sequence[str] | None = "0020_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: tuple[tuple[str, int], ...] = (
    ("fn", 64), ("fn_canon", 64), ("fn_mp", 64), ("fn_ocr", 64), ("sn", 64), ("sn_mp", 64),
    ("sn_ocr", 64), ("sn_former", 64), ("dob", 10), ("pc", 8), ("pc_sector", 8),
    ("pc_district", 4), ("nhs", 10), ("upn", 13),
)


def _alter(collation: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_key " + ", ".join(
        f"ALTER COLUMN {name} TYPE VARCHAR({length}){collation}" for name, length in _COLUMNS))


def upgrade() -> None:
    _alter(' COLLATE "C"')


def downgrade() -> None:
    _alter("")
