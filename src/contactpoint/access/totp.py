"""TOTP (RFC 6238, pyotp) with replay protection.

pyotp is stateless. We store, per user, the last time step we accepted and accept a code only
for a *later* step, through one conditional UPDATE: two requests racing with the same code
cannot both win, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from sqlalchemy import Connection, or_, select, update

from contactpoint.access.secretbox import SecretBox
from contactpoint.access.tables import app_user

PERIOD_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A base32 secret (160 bits)."""
    return str(pyotp.random_base32(length=32))


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // PERIOD_SECONDS


def code_at(secret: str, at: datetime) -> str:
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).at(at))


def matching_step(secret: str, code: str, at: datetime, window: int = 1) -> int | None:
    """The time step (within ``window`` steps of ``at``) whose code is ``code``, if any."""
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)
    now_step = time_step(at)
    found: int | None = None
    for step in range(now_step - window, now_step + window + 1):
        # compare every candidate, so the time taken does not depend on which one matched
        if hmac.compare_digest(str(totp.generate_otp(step)), code) and found is None:
            found = step
    return found


def consume_step(conn: Connection, user_id: int, step: int) -> bool:
    """Record ``step`` as used for this user; False when it (or a later one) was used already."""
    result = conn.execute(
        update(app_user)
        .where(app_user.c.id == user_id)
        .where(or_(app_user.c.totp_last_step.is_(None), app_user.c.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer))


def pending_enrolment_secret(conn: Connection, user_id: int, box: SecretBox) -> str | None:
    """The user's secret (opened) while no code has ever been accepted (first sign-in, or
    after a reset).

    Once a code has been accepted the secret is never handed out again: ``None``.
    """
    row = conn.execute(
        select(app_user.c.totp_secret, app_user.c.totp_last_step).where(app_user.c.id == user_id)
    ).one_or_none()
    if row is None or row.totp_last_step is not None:
        return None
    return box.open(str(row.totp_secret))
