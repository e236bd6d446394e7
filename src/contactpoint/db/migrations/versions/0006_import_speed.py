"""import speed: partial indexes on source_record, no FK checks on provenance columns

Revision ID: 0006_import_speed
Revises: 0003_linkage, 0004_access, 0005_audit (also merges those branches)
Create Date: 2026-11-25 16:00:00

* ``ix_source_record_child`` -> ``WHERE child_id IS NOT NULL``, ``ix_source_record_nhs`` ->
  ``WHERE nhs_number IS NOT NULL``, ``ix_source_record_pending`` -> ``WHERE link_pending``:
  the queries that use them only ever look for the non-null / true side, and a bulk import
  no longer writes an entry for every record into each of them.
* The foreign keys ``source_record.source_code -> source``, ``first_extract_id`` and
  ``extract_id -> extract`` are dropped: they cost ~12 µs per imported row on PostgreSQL
  (one trigger query each); the importer writes them in the same transaction that
  creates/checks the referenced rows. See docs/adr/0005-import-provenance-integrity.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_import_speed"
down_revision: str | Sequence[str] | None = ("0003_linkage", "0004_access", "0005_audit")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FKS = (
    ("fk_source_record_source_code_source", "source", ["source_code"], ["code"]),
    ("fk_source_record_first_extract_id_extract", "extract", ["first_extract_id"], ["id"]),
    ("fk_source_record_extract_id_extract", "extract", ["extract_id"], ["id"]),
)
_PARTIAL = (
    ("ix_source_record_child", "child_id", "child_id IS NOT NULL"),
    ("ix_source_record_nhs", "nhs_number", "nhs_number IS NOT NULL"),
    ("ix_source_record_pending", "link_pending", "link_pending"),
)


def upgrade() -> None:
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        for name, _table, _local, _remote in _FKS:
            batch_op.drop_constraint(name, type_="foreignkey")
        for name, _column, _where in _PARTIAL:
            batch_op.drop_index(name)
    for name, column, where in _PARTIAL:
        op.create_index(
            name, "source_record", [column], unique=False,
            postgresql_where=sa.text(where), sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _column, _where in _PARTIAL:
        op.drop_index(name, table_name="source_record")
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        for name, column, _where in _PARTIAL:
            batch_op.create_index(name, [column], unique=False)
        for name, table, local, remote in _FKS:
            batch_op.create_foreign_key(name, table, local, remote)
