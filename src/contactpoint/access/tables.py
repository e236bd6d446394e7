"""Access tables: organisations, users, sessions, throttles, machine clients, tokens.

Secrets are stored as hashes: session ids and access tokens as SHA-256 of the random value
the client holds, passwords as argon2id. Revision ``0004_access``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from contactpoint.db.base import BigId, UTCDateTime, metadata

ORG_KINDS = ("council", "school", "health", "police", "charity", "other")
ROLES = ("practitioner", "council_team", "national_admin", "auditor")

organisation = Table(
    "organisation",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("la_code", String(16), nullable=True),
    Column("accredited", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "kind IN ('council', 'school', 'health', 'police', 'charity', 'other')", name="kind"
    ),
)

app_user = Table(
    "app_user",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("organisation_id", BigId, ForeignKey("organisation.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("totp_secret", String(255), nullable=False),  # encrypted (access/secretbox.py)
    Column("totp_last_step", BigInteger, nullable=True),
    Column("vetted_on", Date, nullable=True),
    Column("trained_on", Date, nullable=True),
    Column("agreement_signed_on", Date, nullable=True),
    Column("suspended", Boolean, nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Failures since the last success, never reset by the temporary lock (review finding 1).
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    # First sign-in must set a new password and enrol a new second factor (finding 5).
    Column("must_enrol", Boolean, nullable=False, server_default=false()),
    Column("pending_totp_secret", String(255), nullable=True),
    Column("created_by", String(128), nullable=True),
    Column("pending_notice", String(32), nullable=True),
    CheckConstraint(
        "role IN ('practitioner', 'council_team', 'national_admin', 'auditor')", name="role"
    ),
    CheckConstraint("pending_notice = 'suspended_after_failures'", name="pending_notice"),
)
Index("ix_app_user_organisation", app_user.c.organisation_id)

user_session = Table(
    "user_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", BigId, ForeignKey("app_user.id"), nullable=False),
    Column("authenticated", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("authenticated_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
)
Index("ix_user_session_user", user_session.c.user_id)

sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
)

# Unknown usernames follow the same lock rules as known ones (finding 6): keyed by an HMAC
# of the typed name (access/secretbox.py), forgotten a day after the last failure.
unknown_sign_in = Table(
    "unknown_sign_in",
    metadata,
    Column("name_hash", String(64), primary_key=True),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_failed_at", UTCDateTime, nullable=False),
)

machine_client = Table(
    "machine_client",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("organisation_id", BigId, ForeignKey("organisation.id"), nullable=False),
    Column("jwks", JSON, nullable=False),
    Column("permissions", Text, nullable=False),
    Column("suspended", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

client_assertion_jti = Table(
    "client_assertion_jti",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
)

access_token = Table(
    "access_token",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_pk", BigId, ForeignKey("machine_client.id"), nullable=False),
    Column("permissions", Text, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_access_token_expires", access_token.c.expires_at)
