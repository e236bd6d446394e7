"""audit: append-only hash-chained events, chain head, signed checkpoints

Revision ID: 0005_audit
Revises: 0001_foundation
Create Date: 2026-11-25 15:10:00

On PostgreSQL, also: triggers that refuse UPDATE/DELETE/TRUNCATE of the append-only tables
(enabled ALWAYS, so ``session_replication_role = replica`` does not skip them), a NOLOGIN role
``contactpoint_app`` the application's login role should be a member of, with SELECT/INSERT on
the audit tables only, and UPDATE/DELETE/TRUNCATE revoked from PUBLIC. On SQLite: triggers that
RAISE(ABORT) on UPDATE/DELETE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import contactpoint.db.base

revision: str = "0005_audit"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = (
    "8e4acaebc0a8b3eb513429f3e400a507e1a91ac3c37e645eabbf8c84e47f7784"  # chain.GENESIS_HASH
)
APP_ROLE = "contactpoint_app"
APPEND_ONLY = ("audit_event", "audit_checkpoint")

_PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'raise_exception';
END $$;

CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq < OLD.seq THEN
    RAISE EXCEPTION 'audit chain head may only move forward: % refused', TG_OP
      USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$;
"""

_PG_ROLE = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'contactpoint_app') THEN
    BEGIN
      CREATE ROLE contactpoint_app NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'no CREATEROLE privilege: role contactpoint_app not created';
    END;
  END IF;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", contactpoint.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("organisation", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_subject", ["subject"], unique=False)
        batch_op.create_index("ix_audit_event_actor", ["actor"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", contactpoint.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("signed_checkpoint", sa.Text(), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoint")),
    )
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, head_hash) VALUES (1, 0, :genesis)").bindparams(
            genesis=GENESIS_HASH
        )
    )

    if op.get_context().dialect.name == "postgresql":
        _postgresql_protection()
    else:
        _sqlite_protection()


def _postgresql_protection() -> None:
    op.execute(_PG_FUNCTIONS)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")
    op.execute(
        "CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head "
        "FOR EACH ROW EXECUTE FUNCTION audit_head_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
    )
    op.execute("ALTER TABLE audit_head ENABLE ALWAYS TRIGGER audit_head_guard")
    op.execute("ALTER TABLE audit_head ENABLE ALWAYS TRIGGER audit_head_no_truncate")

    op.execute(_PG_ROLE)
    has_role = f"EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}')"  # noqa: S608 - constant names only  # nosec B608
    op.execute(
        "REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint, audit_head FROM PUBLIC"
    )
    op.execute(
        f"""
DO $$
BEGIN
  IF {has_role} THEN
    REVOKE ALL ON audit_event, audit_checkpoint, audit_head FROM {APP_ROLE};
    GRANT SELECT, INSERT ON audit_event, audit_checkpoint TO {APP_ROLE};
    GRANT SELECT, UPDATE ON audit_head TO {APP_ROLE};
  END IF;
END $$;
"""
    )


def _sqlite_protection() -> None:
    for table in APPEND_ONLY:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: {operation} on "
                f"{table} refused'); END"
            )
    op.execute(
        "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'audit chain head may not be deleted'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head "
        "WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq "
        "BEGIN SELECT RAISE(ABORT, 'audit chain head may only move forward'); END"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_checkpoint, audit_head, audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
        op.execute("DROP FUNCTION IF EXISTS audit_head_guard()")
        return
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_actor")
        batch_op.drop_index("ix_audit_event_subject")
    op.drop_table("audit_event")
