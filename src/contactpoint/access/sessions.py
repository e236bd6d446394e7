"""Server-side sessions: 30 min idle, 12 h absolute, a new id at every step up in trust.

The client holds a random token; the database holds only its SHA-256, so a copy of the table
signs nobody in. A *pending* session (password accepted, code not yet) is not signed in: it
authorises nothing. Nor does an *enrolling* one (both handed-over factors accepted, stored
with ``authenticated`` false and ``authenticated_at`` set): it only reaches the web's
first-sign-in enrolment page, which replaces both factors (``access/enrolment.py``).
Limits are enforced here, never by cookie expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from contactpoint.access.config import AccessSettings
from contactpoint.access.tables import user_session

TOKEN_BYTES = 32
_TOUCH_AFTER = timedelta(seconds=15)
_KEEP_AT_MOST = timedelta(days=1)  # longer than any session may live
# Built once: every signed-in request runs it (no statement construction or cache-key walk).
_BY_DIGEST = select(user_session).where(user_session.c.id_hash == bindparam("id_hash"))


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: int
    authenticated: bool
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime | None
    touched: bool = False  # this load wrote the idle timer (the caller must commit it)

    @property
    def enrolling(self) -> bool:
        """Both handed-over factors accepted; the account must still enrol (not signed in)."""
        return not self.authenticated and self.authenticated_at is not None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(
    conn: Connection,
    user_id: int,
    *,
    authenticated: bool,
    now: datetime,
    started_at: datetime | None = None,
    factors_checked: bool = False,
) -> str:
    """A new session; returns the token for the cookie (shown once, stored hashed).

    The user's dead sessions (ended, or older than a day) are cleared on the way.
    """
    conn.execute(
        delete(user_session)
        .where(user_session.c.user_id == user_id)
        .where(
            or_(
                user_session.c.ended_at.is_not(None),
                user_session.c.created_at < now - _KEEP_AT_MOST,
            )
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(
        insert(user_session).values(
            id_hash=digest(token),
            user_id=user_id,
            authenticated=authenticated,
            created_at=started_at or now,
            last_seen_at=now,
            authenticated_at=now if authenticated or factors_checked else None,
            ended_at=None,
        )
    )
    return token


def load(
    conn: Connection, token: str, *, now: datetime, settings: AccessSettings
) -> Session | None:
    """The live session for ``token`` (pending or not), or None; refreshes the idle timer."""
    if not plausible(token):
        return None
    row = conn.execute(_BY_DIGEST, {"id_hash": digest(token)}).first()
    return live(conn, row, now=now, settings=settings)


def plausible(token: str) -> bool:
    """Whether ``token`` may be a session token at all (else no look-up is made)."""
    return bool(token) and len(token) <= 128


def live(
    conn: Connection, row: Any, *, now: datetime, settings: AccessSettings
) -> Session | None:
    """The session of ``row`` (``user_session``'s columns, by name; None: no such session)
    if it is live, or None, ending it when it ran out; refreshes the idle timer."""
    if row is None or row.ended_at is not None:
        return None
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        conn.execute(
            update(user_session).where(user_session.c.id_hash == row.id_hash).values(ended_at=now)
        )
        return None
    touched = now - row.last_seen_at >= _TOUCH_AFTER
    if touched:
        conn.execute(
            update(user_session)
            .where(user_session.c.id_hash == row.id_hash)
            .values(last_seen_at=now)
        )
    return Session(
        id_hash=row.id_hash,
        user_id=int(row.user_id),
        authenticated=bool(row.authenticated),
        created_at=row.created_at,
        last_seen_at=now,
        authenticated_at=row.authenticated_at,
        touched=touched,
    )


def end(conn: Connection, token: str, *, now: datetime) -> None:
    conn.execute(
        update(user_session)
        .where(user_session.c.id_hash == digest(token))
        .where(user_session.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_all(conn: Connection, user_id: int, *, now: datetime) -> None:
    """Sign a user out everywhere (suspension, 2FA reset, role change)."""
    conn.execute(
        update(user_session)
        .where(user_session.c.user_id == user_id)
        .where(user_session.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def promote(conn: Connection, session: Session, *, now: datetime) -> str:
    """Second factor accepted (or re-authenticated): end this id, issue a new full session.

    The absolute limit still counts from the first sign-in step.
    """
    conn.execute(
        update(user_session)
        .where(user_session.c.id_hash == session.id_hash)
        .values(ended_at=now)
    )
    return create(
        conn, session.user_id, authenticated=True, now=now, started_at=session.created_at
    )


def promote_to_enrolling(conn: Connection, session: Session, *, now: datetime) -> str:
    """Handed-over factors accepted for an account that must enrol: end this id and issue an
    *enrolling* one (still not signed in); the absolute limit counts from the first step."""
    conn.execute(
        update(user_session)
        .where(user_session.c.id_hash == session.id_hash)
        .values(ended_at=now)
    )
    return create(
        conn, session.user_id, authenticated=False, now=now, started_at=session.created_at,
        factors_checked=True,
    )


def recently_authenticated(session: Session, *, now: datetime, settings: AccessSettings) -> bool:
    if not session.authenticated or session.authenticated_at is None:
        return False
    return now - session.authenticated_at <= timedelta(minutes=settings.reauth_minutes)
