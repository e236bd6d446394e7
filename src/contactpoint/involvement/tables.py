"""Practitioner-recorded involvements and the feed codes of each organisation (``0015``).

``involvement`` holds what a practitioner records about their own work with a child: the
statutory involvement fields only (checked against the allow-list like every record table).
A row keeps the child it was recorded against (``child_key``); reads follow merges through
``child.merged_into_id``, so an unmerge gives it back to that child without rewriting it.

``organisation_code`` says which organisation a feed's ``service_org_code`` (URN, ODS code,
LA code or a local code) stands for: one feed code belongs to one organisation.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
)

from contactpoint.db.base import BigId, UTCDateTime, metadata

involvement = Table(
    "involvement",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("org_code", String(32), ForeignKey("organisation.code"), nullable=False),
    Column("service_type", String(20), nullable=False),
    Column("practitioner_name", String(128), nullable=False),
    Column("practitioner_role", String(128), nullable=True),
    Column("practitioner_phone", String(32), nullable=True),
    Column("practitioner_email", String(254), nullable=True),
    Column("assessment_status", String(12), nullable=False),
    Column("lead_professional", Boolean, nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("consent_basis", String(20), nullable=False),
    Column("start", Date, nullable=True),
    Column("end", Date, nullable=True),
    Column("status", String(8), nullable=False),
    Column("created_by", BigId, ForeignKey("app_user.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(
        " OR ".join(f"service_type = '{s}'" for s in (
            "education", "primary_care", "health_visitor", "school_nurse", "social_care",
            "youth_offending", "connexions", "camhs", "sexual_health", "substance_misuse",
            "other")),
        name="service_type",
    ),
    CheckConstraint(
        "assessment_status = 'none' OR assessment_status = 'in_progress' "
        "OR assessment_status = 'completed'",
        name="assessment_status",
    ),
    CheckConstraint(
        "consent_basis = 'not_given' OR consent_basis = 'consent' "
        "OR consent_basis = 'significant_harm'",
        name="consent_basis",
    ),
    # reg 11(3): a sensitive service is recorded only with consent or for significant harm
    CheckConstraint(
        "NOT sensitive OR consent_basis = 'consent' OR consent_basis = 'significant_harm'",
        name="sensitive_basis",
    ),
    CheckConstraint("status = 'current' OR status = 'ceased'", name="status"),
    CheckConstraint('"end" IS NULL OR start IS NULL OR "end" >= start', name="dates"),
)
Index("ix_involvement_child", involvement.c.child_key)
Index("ix_involvement_org", involvement.c.org_code)

FEED_CODE_KINDS = ("urn", "ods", "la", "local")

organisation_code = Table(
    "organisation_code",
    metadata,
    Column("feed_code", String(64), primary_key=True),
    Column("org_code", String(32), ForeignKey("organisation.code"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "kind = 'urn' OR kind = 'ods' OR kind = 'la' OR kind = 'local'", name="kind"
    ),
)
Index("ix_organisation_code_org", organisation_code.c.org_code)

# Tables that hold facts about a child: columns on the statutory allow-list (test swept).
RECORD_TABLES: tuple[Table, ...] = (involvement,)
