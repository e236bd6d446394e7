"""access security review: cumulative lockout, unknown-name locks, enrolment, encrypted TOTP

Revision ID: 0016_access_security
Revises: 0012_link_event_retire
Create Date: 2026-12-06 17:00:00

Closes findings of the outside security review (docs/security/access.md, "Review findings
closed"): ``app_user`` gains a consecutive-failure count that survives the temporary lock
(100 suspends the account), a notice for the owner, who created the account, and a forced
first-sign-in enrolment (new password and second factor); ``totp_secret`` widens to hold an
encrypted value; ``unknown_sign_in`` gives unknown usernames the same lock rules as known
ones (keyed by an HMAC of the typed name, kept for a day).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from contactpoint.db.base import UTCDateTime

revision: str = "0016_access_security"
down_revision: str | Sequence[str] | None = "0012_link_event_retire"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("must_enrol", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("pending_totp_secret", sa.String(255), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("pending_notice", sa.String(32), nullable=True))
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(64), type_=sa.String(255), nullable=False
        )
        batch_op.create_check_constraint(
            "pending_notice",
            "pending_notice = 'suspended_after_failures'",
        )
    op.create_table(
        "unknown_sign_in",
        sa.Column("name_hash", sa.String(64), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name_hash", name=op.f("pk_unknown_sign_in")),
    )


def downgrade() -> None:
    op.drop_table("unknown_sign_in")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_app_user_pending_notice"), type_="check")
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(255), type_=sa.String(64), nullable=False
        )
        for name in (
            "pending_notice", "created_by", "pending_totp_secret", "must_enrol",
            "consecutive_failures",
        ):
            batch_op.drop_column(name)
