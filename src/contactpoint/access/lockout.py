"""Failure counters: per account (known and unknown names alike) and per address.

* A known account counts failures twice: ``failed_attempts`` (reset by each temporary lock)
  and ``consecutive_failures`` (reset only by a success or by an administrator lifting a
  suspension). The first drives the 15-minute lock, the second the suspension after 100
  (NIST SP 800-63B rev 4's cap on consecutive failures).
* An unknown username follows the same lock rule, kept in ``unknown_sign_in`` under a keyed
  hash (HMAC) of the name, so a locked known name and an unknown name get the same answers.
* Windowed counters (``sign_in_throttle``) serve the per-address throttle, the token
  endpoint's throttle and the counting of repeated anonymous refusals.

Every function runs in the caller's transaction; none commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from contactpoint.access.tables import app_user, sign_in_throttle, unknown_sign_in

UNKNOWN_NAME_MEMORY = timedelta(days=1)


def key_for(kind: str, *parts: str) -> str:
    """A stored key for a counter: never the address or name itself."""
    return hashlib.sha256(f"contactpoint-{kind}:{':'.join(parts)}".encode()).hexdigest()


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


@dataclass(frozen=True)
class Count:
    """A windowed counter after one more event: events in this window, and in the one before
    it when this event opened a new window (0 otherwise)."""

    in_window: int
    previous_window: int


def count_in_window(conn: Connection, key: str, *, now: datetime, window: timedelta) -> Count:
    """Count one event for ``key`` in its current window (one atomic upsert)."""
    table = sign_in_throttle
    before = conn.execute(
        select(table.c.failures, table.c.window_started_at).where(table.c.address_hash == key)
    ).first()
    window_start = now - window
    stmt = _insert(conn)(table).values(address_hash=key, window_started_at=now, failures=1)
    in_window = table.c.window_started_at > window_start
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.address_hash],
        set_={
            "failures": case((in_window, table.c.failures + 1), else_=1),
            "window_started_at": case(
                (in_window, table.c.window_started_at), else_=stmt.excluded.window_started_at
            ),
        },
    ).returning(table.c.failures)
    count = int(conn.execute(stmt).scalar_one())
    previous = 0
    if count == 1 and before is not None and before.window_started_at <= window_start:
        previous = int(before.failures)
    return Count(count, previous)


def over_limit(
    conn: Connection, key: str, *, now: datetime, window: timedelta, limit: int
) -> bool:
    row = conn.execute(
        select(sign_in_throttle).where(sign_in_throttle.c.address_hash == key)
    ).first()
    if row is None or row.window_started_at + window <= now:
        return False
    return int(row.failures) >= limit


@dataclass(frozen=True)
class AccountFailure:
    locked: bool
    suspended_now: bool
    consecutive: int


def count_account_failure(
    conn: Connection,
    user_id: int,
    *,
    now: datetime,
    threshold: int,
    lock_for: timedelta,
    suspend_after: int,
) -> AccountFailure:
    """One more failure for a known account: lock at ``threshold``; suspend at
    ``suspend_after`` consecutive failures (the lock does not reset that count)."""
    row = conn.execute(
        update(app_user)
        .where(app_user.c.id == user_id)
        .values(
            failed_attempts=app_user.c.failed_attempts + 1,
            consecutive_failures=app_user.c.consecutive_failures + 1,
        )
        .returning(app_user.c.failed_attempts, app_user.c.consecutive_failures)
    ).one()
    locked = int(row.failed_attempts) >= threshold
    if locked:
        conn.execute(
            update(app_user)
            .where(app_user.c.id == user_id)
            .values(failed_attempts=0, locked_until=now + lock_for)
        )
    consecutive = int(row.consecutive_failures)
    suspended_now = consecutive == suspend_after
    if suspended_now:
        conn.execute(
            update(app_user)
            .where(app_user.c.id == user_id)
            .values(suspended=True, pending_notice="suspended_after_failures", updated_at=now)
        )
    return AccountFailure(locked, suspended_now, consecutive)


def reset_account(conn: Connection, user_id: int) -> None:
    """A success (or an administrator lifting a suspension): every count back to zero."""
    conn.execute(
        update(app_user)
        .where(app_user.c.id == user_id)
        .values(failed_attempts=0, consecutive_failures=0, locked_until=None)
    )


def account_locked(conn: Connection, user_id: int, *, now: datetime) -> bool:
    until = conn.execute(
        select(app_user.c.locked_until).where(app_user.c.id == user_id)
    ).scalar_one()
    return until is not None and until > now


def unknown_name_key(username: str, keyed_hash: Callable[[str], str]) -> str:
    """The stored key of a typed name no account has: a keyed hash (HMAC), since the "name"
    may be a password typed into the wrong field."""
    return keyed_hash("unknown-name:" + username.strip().casefold())


def unknown_locked(conn: Connection, name_key: str, *, now: datetime) -> bool:
    until = conn.execute(
        select(unknown_sign_in.c.locked_until).where(unknown_sign_in.c.name_hash == name_key)
    ).scalar()
    return until is not None and until > now


def count_unknown_failure(
    conn: Connection, name_key: str, *, now: datetime, threshold: int, lock_for: timedelta
) -> bool:
    """One more failure for a name no account has; True when this failure locks it."""
    conn.execute(
        delete(unknown_sign_in).where(unknown_sign_in.c.last_failed_at < now - UNKNOWN_NAME_MEMORY)
    )
    table = unknown_sign_in
    stmt = _insert(conn)(table).values(
        name_hash=name_key, failed_attempts=1, locked_until=None, last_failed_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.name_hash],
        set_={"failed_attempts": table.c.failed_attempts + 1, "last_failed_at": now},
    ).returning(table.c.failed_attempts)
    count = int(conn.execute(stmt).scalar_one())
    if count < threshold:
        return False
    conn.execute(
        update(table)
        .where(table.c.name_hash == name_key)
        .values(failed_attempts=0, locked_until=now + lock_for)
    )
    return True
