"""practitioner-recorded involvements, organisations' feed codes, sensitive sources

Revision ID: 0015_involvement
Revises: 0012_link_event_retire
Create Date: 2026-12-06 17:10:00

* ``involvement``: what a practitioner records about their work with a child (statutory
  fields only), kept against the child it was recorded on; reads follow merges.
* ``organisation_code``: which organisation a feed's ``service_org_code`` stands for.
* ``source.sensitive``: set once a source's records carry a sensitive-service involvement;
  backfilled here from the records already held. Outputs that name sources leave such a
  source's records out.
* ``ix_child_merged_into``: the children merged into a child, without scanning ``child``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_involvement"
down_revision: str | Sequence[str] | None = "0012_link_event_retire"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERVICES = ("education", "primary_care", "health_visitor", "school_nurse", "social_care",
             "youth_offending", "connexions", "camhs", "sexual_health", "substance_misuse",
             "other")


def upgrade() -> None:
    op.create_table(
        "involvement",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("child_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("service_type", sa.String(length=20), nullable=False),
        sa.Column("practitioner_name", sa.String(length=128), nullable=False),
        sa.Column("practitioner_role", sa.String(length=128), nullable=True),
        sa.Column("practitioner_phone", sa.String(length=32), nullable=True),
        sa.Column("practitioner_email", sa.String(length=254), nullable=True),
        sa.Column("assessment_status", sa.String(length=12), nullable=False),
        sa.Column("lead_professional", sa.Boolean(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("consent_basis", sa.String(length=20), nullable=False),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(" OR ".join(f"service_type = '{s}'" for s in _SERVICES),
                           name=op.f("ck_involvement_service_type")),
        sa.CheckConstraint(
            "assessment_status = 'none' OR assessment_status = 'in_progress' "
            "OR assessment_status = 'completed'", name=op.f("ck_involvement_assessment_status")),
        sa.CheckConstraint(
            "consent_basis = 'not_given' OR consent_basis = 'consent' "
            "OR consent_basis = 'significant_harm'", name=op.f("ck_involvement_consent_basis")),
        sa.CheckConstraint(
            "NOT sensitive OR consent_basis = 'consent' OR consent_basis = 'significant_harm'",
            name=op.f("ck_involvement_sensitive_basis")),
        sa.CheckConstraint("status = 'current' OR status = 'ceased'",
                           name=op.f("ck_involvement_status")),
        sa.CheckConstraint('"end" IS NULL OR start IS NULL OR "end" >= start',
                           name=op.f("ck_involvement_dates")),
        sa.ForeignKeyConstraint(["child_key"], ["child.id"],
                                name=op.f("fk_involvement_child_key_child")),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"],
                                name=op.f("fk_involvement_created_by_app_user")),
        sa.ForeignKeyConstraint(["org_code"], ["organisation.code"],
                                name=op.f("fk_involvement_org_code_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_involvement")),
    )
    op.create_index("ix_involvement_child", "involvement", ["child_key"])
    op.create_index("ix_involvement_org", "involvement", ["org_code"])
    op.create_table(
        "organisation_code",
        sa.Column("feed_code", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind = 'urn' OR kind = 'ods' OR kind = 'la' OR kind = 'local'",
                           name=op.f("ck_organisation_code_kind")),
        sa.ForeignKeyConstraint(["org_code"], ["organisation.code"],
                                name=op.f("fk_organisation_code_org_code_organisation")),
        sa.PrimaryKeyConstraint("feed_code", name=op.f("pk_organisation_code")),
    )
    op.create_index("ix_organisation_code_org", "organisation_code", ["org_code"])
    op.create_index("ix_child_merged_into", "child", ["merged_into_id"],
                    postgresql_where=sa.text("merged_into_id IS NOT NULL"),
                    sqlite_where=sa.text("merged_into_id IS NOT NULL"))
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sensitive", sa.Boolean(), server_default="0",
                                      nullable=False))
    # Backfill: the importer writes involvements as compact JSON (``"sensitive":true``).
    involvements = ("CAST(r.involvements AS TEXT)"
                    if op.get_bind().dialect.name == "postgresql" else "r.involvements")
    op.execute(sa.text(
        "UPDATE source SET sensitive = TRUE WHERE EXISTS (SELECT 1 FROM source_record r "  # noqa: S608 (constant SQL)  # nosec B608
        f"WHERE r.source_code = source.code AND {involvements} LIKE :pattern)"
    ).bindparams(pattern='%"sensitive":true%'))


def downgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("sensitive")
    op.drop_index("ix_child_merged_into", table_name="child")
    op.drop_index("ix_organisation_code_org", table_name="organisation_code")
    op.drop_table("organisation_code")
    op.drop_index("ix_involvement_org", table_name="involvement")
    op.drop_index("ix_involvement_child", table_name="involvement")
    op.drop_table("involvement")
