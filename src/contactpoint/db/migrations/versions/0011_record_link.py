"""the record -> child link and the link queue in narrow tables of their own

Revision ID: 0011_record_link
Revises: 0010_shielded_index
Create Date: 2026-11-25 22:40:00

``source_record.child_id`` and ``source_record.link_pending`` were written by every link run:
a first run at 1 M children rewrote all 2.6 M wide source records (a new row version each, its
WAL and, later, its vacuum), most of the run's write-back. ``record_link`` (record -> child)
and ``link_queue`` (records waiting for a link run) hold the same facts in a few bytes a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_record_link"
down_revision: str | Sequence[str] | None = "0010_shielded_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "record_link",
        sa.Column("record_key", _BIG, primary_key=True, autoincrement=False),
        sa.Column("child_key", _BIG, nullable=False),
    )
    op.create_table(
        "link_queue",
        sa.Column("record_key", _BIG, primary_key=True, autoincrement=False),
    )
    op.execute("INSERT INTO record_link (record_key, child_key) "
               "SELECT id, child_id FROM source_record WHERE child_id IS NOT NULL")
    op.execute("INSERT INTO link_queue (record_key) SELECT id FROM source_record WHERE link_pending")
    op.create_index("ix_record_link_child", "record_link", ["child_key"])
    op.drop_index("ix_source_record_child", table_name="source_record")
    op.drop_index("ix_source_record_pending", table_name="source_record")
    with op.batch_alter_table("source_record") as batch_op:
        batch_op.drop_column("child_id")
        batch_op.drop_column("link_pending")


def downgrade() -> None:
    with op.batch_alter_table("source_record") as batch_op:
        batch_op.add_column(sa.Column("child_id", _BIG, nullable=True))
        batch_op.add_column(sa.Column("link_pending", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("UPDATE source_record SET child_id = (SELECT child_key FROM record_link "
               "WHERE record_key = source_record.id)")
    op.execute("UPDATE source_record SET link_pending = "
               "EXISTS (SELECT 1 FROM link_queue WHERE record_key = source_record.id)")
    for name, column in (("ix_source_record_child", "child_id"),
                         ("ix_source_record_pending", "link_pending")):
        where = sa.text(f"{column} IS NOT NULL" if column == "child_id" else column)
        op.create_index(name, "source_record", [column], postgresql_where=where,
                        sqlite_where=where)
    op.drop_index("ix_record_link_child", table_name="record_link")
    op.drop_table("link_queue")
    op.drop_table("record_link")
