"""Practitioner search: the search_key table and the audit_child index

Revision ID: 0014_search
Revises: 0012_link_event_retire
Create Date: 2026-12-06 17:20:00

``search_key``: the engine's normalised keys of every active, linked source record, indexed for
candidate retrieval (``source_record`` stays tuned for import). Existing databases get their
keys from ``contactpoint link`` (a run with nothing pending rebuilds them when the table is
empty). ``audit_child``: child id -> audit sequence number of every event that returned or
showed the child; append-only like ``audit_event`` (same triggers and grants).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import contactpoint.db.base

revision: str = "0014_search"
down_revision: str | Sequence[str] | None = "0012_link_event_retire"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("ix_search_key_child", ("child_key",), None),
    ("ix_search_key_nhs", ("nhs",), "nhs IS NOT NULL"),
    ("ix_search_key_upn", ("upn",), "upn IS NOT NULL"),
    ("ix_search_key_sn_dob", ("sn", "dob"), None),
    ("ix_search_key_fn_dob", ("fn_canon", "dob"), None),
    ("ix_search_key_snmp_dob", ("sn_mp", "dob"), None),
    ("ix_search_key_fn_sn", ("fn_canon", "sn"), None),
    ("ix_search_key_sn_district", ("sn", "pc_district"), None),
    ("ix_search_key_fn_district", ("fn_canon", "pc_district"), None),
    ("ix_search_key_dob_district", ("dob", "pc_district"), None),
    ("ix_search_key_former_dob", ("sn_former", "dob"), "sn_former IS NOT NULL"),
)


def upgrade() -> None:
    key = sa.String(length=64)
    op.create_table(
        "search_key",
        sa.Column("record_key", contactpoint.db.base.BigId, autoincrement=False,
                  nullable=False),
        sa.Column("child_key", contactpoint.db.base.BigId, nullable=False),
        sa.Column("fn", key, nullable=True),
        sa.Column("fn_canon", key, nullable=True),
        sa.Column("fn_mp", key, nullable=True),
        sa.Column("fn_ocr", key, nullable=True),
        sa.Column("fn_names", sa.String(length=256), nullable=True),
        sa.Column("sn", key, nullable=True),
        sa.Column("sn_mp", key, nullable=True),
        sa.Column("sn_ocr", key, nullable=True),
        sa.Column("sn_names", sa.String(length=256), nullable=True),
        sa.Column("sn_former", key, nullable=True),
        sa.Column("dob", sa.String(length=10), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("pc", sa.String(length=8), nullable=True),
        sa.Column("pc_sector", sa.String(length=8), nullable=True),
        sa.Column("pc_district", sa.String(length=4), nullable=True),
        sa.Column("town", sa.String(length=128), nullable=True),
        sa.Column("nhs", sa.String(length=10), nullable=True),
        sa.Column("upn", sa.String(length=13), nullable=True),
        sa.PrimaryKeyConstraint("record_key", name=op.f("pk_search_key")),
    )
    with op.batch_alter_table("search_key", schema=None) as batch_op:
        for name, cols, where in _INDEXES:
            kw = {} if where is None else {"postgresql_where": sa.text(where),
                                           "sqlite_where": sa.text(where)}
            batch_op.create_index(name, list(cols), unique=False, **kw)

    op.create_table(
        "audit_child",
        sa.Column("child_id", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("child_id", "seq", name=op.f("pk_audit_child")),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_child_append_only BEFORE UPDATE OR DELETE ON audit_child "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER audit_child_no_truncate BEFORE TRUNCATE ON audit_child "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute("ALTER TABLE audit_child ENABLE ALWAYS TRIGGER audit_child_append_only")
        op.execute("ALTER TABLE audit_child ENABLE ALWAYS TRIGGER audit_child_no_truncate")
        op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_child FROM PUBLIC")
        op.execute(
            """
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'contactpoint_app') THEN
    REVOKE ALL ON audit_child FROM contactpoint_app;
    GRANT SELECT, INSERT ON audit_child TO contactpoint_app;
  END IF;
END $$;
"""
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_child_no_{operation.lower()} BEFORE {operation} "
                f"ON audit_child BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: "
                f"{operation} on audit_child refused'); END"
            )


def downgrade() -> None:
    op.drop_table("audit_child")
    with op.batch_alter_table("search_key", schema=None) as batch_op:
        for name, _, _ in reversed(_INDEXES):
            batch_op.drop_index(name)
    op.drop_table("search_key")
