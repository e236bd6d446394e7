"""Council tables (revision ``0019_council``): responsibility and its evidence, transfers,
shields with their history, per-user grants, investigations and brokered-contact requests.

Statuses and kinds are enums with CHECK constraints built from them. Nothing here is deleted:
a removed shield, a revoked grant, a closed investigation keep their row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    text,
)

from contactpoint.access.permissions import GrantablePermission
from contactpoint.db.base import BigId, UTCDateTime, metadata, one_of
from contactpoint.domain.council import (
    ContactStatus,
    EvidenceKind,
    InvestigationOutcome,
    InvestigationStatus,
    ShieldStatus,
)

# The council each child was last allocated to, with the evidence (one row per child that a
# link run has considered; ``la_code`` None: no evidence, the child is on the national report).
child_responsibility = Table(
    "child_responsibility",
    metadata,
    Column("child_key", BigId, ForeignKey("child.id"), primary_key=True),
    Column("la_code", String(16), nullable=True),
    Column("deciding_kind", String(24), nullable=True),
    Column("evidence", JSON, nullable=False),
    Column("run_id", BigId, nullable=True),  # link_run.id (None: a merge or unmerge)
    Column("derived_at", UTCDateTime, nullable=False),
    CheckConstraint("deciding_kind IS NULL OR " + one_of("deciding_kind", EvidenceKind),
                    name="deciding_kind"),
)
Index("ix_child_responsibility_la", child_responsibility.c.la_code)

# Responsibility moved from one council to another (or to none): both see it in their work list.
council_transfer = Table(
    "council_transfer",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("from_la", String(16), nullable=True),
    Column("to_la", String(16), nullable=True),
    Column("evidence", JSON, nullable=False),
    Column("run_id", BigId, nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_council_transfer_from", council_transfer.c.from_la)
Index("ix_council_transfer_to", council_transfer.c.to_la)

# Each shield ever set: active until removed (the row stays, with who removed it and why).
child_shield = Table(
    "child_shield",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("status", String(8), nullable=False),
    Column("la_code", String(16), nullable=False),  # the council that set it
    Column("reason", String(500), nullable=False),
    Column("review_on", Date, nullable=False),
    Column("set_by", String(128), nullable=False),
    Column("set_at", UTCDateTime, nullable=False),
    Column("carried_from_id", BigId, ForeignKey("child_shield.id"), nullable=True),
    Column("removed_by", String(128), nullable=True),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removal_reason", String(500), nullable=True),
    CheckConstraint(one_of("status", ShieldStatus), name="status"),
)
Index("ix_child_shield_child", child_shield.c.child_key)
Index("ix_child_shield_active_review", child_shield.c.review_on,
      postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'"))

# A permission granted to one named user on top of their role.
user_grant = Table(
    "user_grant",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("app_user.id"), nullable=False),
    Column("permission", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("granted_by", String(128), nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("revoked_by", String(128), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    CheckConstraint(one_of("permission", GrantablePermission), name="permission"),
)
Index("ix_user_grant_user", user_grant.c.user_id)

# Opened automatically when a shield is overridden; the responsible council records the outcome.
investigation = Table(
    "investigation",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("app_user.id"), nullable=False),
    Column("la_code", String(16), nullable=True),  # the responsible council when opened
    Column("reason", String(500), nullable=False),  # the override's stated reason
    Column("status", String(8), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("outcome_reason", String(500), nullable=True),
    Column("closed_by", String(128), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    CheckConstraint(one_of("status", InvestigationStatus), name="status"),
    CheckConstraint("outcome IS NULL OR " + one_of("outcome", InvestigationOutcome),
                    name="outcome"),
)
Index("ix_investigation_la", investigation.c.la_code)

# A practitioner asks the responsible council to put them in touch about a shielded child.
contact_request = Table(
    "contact_request",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("requester_id", BigId, ForeignKey("app_user.id"), nullable=False),
    Column("la_code", String(16), nullable=True),
    Column("reason", String(500), nullable=False),
    Column("contact_details", String(500), nullable=False),  # the practitioner's own
    Column("status", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_by", String(128), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decision_reason", String(500), nullable=True),
    CheckConstraint(one_of("status", ContactStatus), name="status"),
)
Index("ix_contact_request_la", contact_request.c.la_code)
Index("ix_contact_request_requester", contact_request.c.requester_id)
