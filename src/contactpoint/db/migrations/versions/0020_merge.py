"""Join the heads of the capabilities built in parallel (issues 19-23).

Revision ID: 0020_merge
Revises: 0014_search, 0015_involvement, 0016_access_security,
    0019_council
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0020_merge"
down_revision: str | Sequence[str] | None = ("0014_search", "0015_involvement", "0016_access_security", "0019_council")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the merge only makes one head again (ADR 0002)."""


def downgrade() -> None:
    """Nothing to undo."""
