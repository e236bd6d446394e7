"""Access services: sign-in with throttle, lockout and vetting, on top of the accounts.

Every operation runs in the caller's transaction and appends its audit entry there; the
caller commits. A refused sign-in raises *after* its bookkeeping (failure counters, audit), so
the caller commits before letting the error travel (see ``api/auth.py``).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from contactpoint.access import sessions, totp, vetting
from contactpoint.access.accounts import Accounts, NewUser, normalise_username, user_from_row
from contactpoint.access.models import AuditContext, User
from contactpoint.access.tables import app_user, sign_in_throttle
from contactpoint.audit.trail import AuditAction
from contactpoint.errors import AccountLocked, AuthenticationFailed, PermissionDenied, Throttled

__all__ = ["SIGN_IN_FAILED_MESSAGE", "AccessService", "NewUser", "normalise_username"]

SIGN_IN_FAILED_MESSAGE = "the username, password or code is not right"


class AccessService(Accounts):
    def _address_key(self, address: str) -> str:
        return hashlib.sha256(f"contactpoint-throttle:{address}".encode()).hexdigest()

    def _address_throttled(self, key: str) -> bool:
        row = self.conn.execute(
            select(sign_in_throttle).where(sign_in_throttle.c.address_hash == key)
        ).first()
        if row is None:
            return False
        window = timedelta(minutes=self.settings.address_throttle_window_minutes)
        if row.window_started_at + window <= self.clock():
            return False
        return int(row.failures) >= self.settings.address_throttle_failures

    def _record_address_failure(self, key: str) -> None:
        """Count one failure for the address in its current window (one atomic upsert)."""
        now = self.clock()
        window_start = now - timedelta(minutes=self.settings.address_throttle_window_minutes)
        table = sign_in_throttle
        dialect_insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(table).values(address_hash=key, window_started_at=now, failures=1)
        in_window = table.c.window_started_at > window_start
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.address_hash],
            set_={
                "failures": case((in_window, table.c.failures + 1), else_=1),
                "window_started_at": case(
                    (in_window, table.c.window_started_at), else_=stmt.excluded.window_started_at
                ),
            },
        )
        self.conn.execute(stmt)

    def _fail(self, user: User | None, key: str, why: str, ctx: AuditContext) -> None:
        """Count a failed attempt (user and address), audit it, maybe lock the account.

        Lock order is user row, then address row, then audit head, everywhere: a losing TOTP
        race can already hold the user row (PostgreSQL keeps the row locked after a failed
        re-check), so taking the address row first would deadlock.
        """
        locked = False
        if user is not None:
            count = self.conn.execute(
                update(app_user)
                .where(app_user.c.id == user.id)
                .values(failed_attempts=app_user.c.failed_attempts + 1)
                .returning(app_user.c.failed_attempts)
            ).scalar_one()
            if count >= self.settings.lockout_threshold:
                until = self.clock() + timedelta(minutes=self.settings.lockout_minutes)
                self.conn.execute(
                    update(app_user)
                    .where(app_user.c.id == user.id)
                    .values(failed_attempts=0, locked_until=until)
                )
                locked = True
        self._record_address_failure(key)
        subject = user.actor if user is not None else None
        # The actor is unknown (whoever typed); the subject is the account tried.
        self.audit(
            AuditContext(None, user.organisation.code if user else None, ctx.request_id),
            AuditAction.SIGN_IN_FAILED,
            subject=subject,
            details={"why": why, "known_user": user is not None},
        )
        if locked and user is not None:
            self.audit(
                AuditContext(None, user.organisation.code, ctx.request_id),
                AuditAction.ACCOUNT_LOCKED,
                subject=user.actor,
                details={
                    "after_failures": self.settings.lockout_threshold,
                    "minutes": self.settings.lockout_minutes,
                },
            )

    def check_password(
        self, username: str, password: str, *, address: str, ctx: AuditContext
    ) -> User:
        """First factor, with throttle and lockout; raises on any failure (after auditing).

        For a two-step sign-in the caller then holds a *pending* session until
        :meth:`check_code` passes; :meth:`sign_in` does both steps at once.
        """
        key = self._address_key(address)
        row = self._user_row(username) if len(username) <= 64 else None
        user = user_from_row(row) if row is not None else None
        if self._address_throttled(key):
            self.hashing.dummy_verify(password)
            self.audit(
                ctx,
                AuditAction.SIGN_IN_FAILED,
                subject=user.actor if user else None,
                details={"why": "address_throttled", "known_user": user is not None},
            )
            raise Throttled("too many failed sign-ins from this address; try again later")
        if row is None or user is None:
            self.hashing.dummy_verify(password)
            self._fail(None, key, "unknown_user", ctx)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        if self._refuse_if_locked(user, key, ctx):
            self.hashing.dummy_verify(password)
            raise AccountLocked("account temporarily locked after repeated failed sign-ins")
        if not self.hashing.verify(row.password_hash, password):
            self._fail(user, key, "bad_password", ctx)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        if self.hashing.needs_rehash(row.password_hash):
            self.conn.execute(
                update(app_user)
                .where(app_user.c.id == user.id)
                .values(password_hash=self.hashing.hash(password))
            )
        return user

    def _refuse_if_locked(self, user: User, key: str, ctx: AuditContext) -> bool:
        locked_until = self.conn.execute(
            select(app_user.c.locked_until).where(app_user.c.id == user.id)
        ).scalar_one()
        if locked_until is None or locked_until <= self.clock():
            return False
        self._record_address_failure(key)
        self.audit(
            AuditContext(None, user.organisation.code, ctx.request_id),
            AuditAction.SIGN_IN_FAILED,
            subject=user.actor,
            details={"why": "account_locked", "known_user": True},
        )
        return True

    def check_code(self, user: User, otp: str, *, address: str, ctx: AuditContext) -> None:
        """Second factor (TOTP, replay-proof); a success resets the failure count."""
        key = self._address_key(address)
        if self._refuse_if_locked(user, key, ctx):
            raise AccountLocked("account temporarily locked after repeated failed sign-ins")
        secret = self.conn.execute(
            select(app_user.c.totp_secret).where(app_user.c.id == user.id)
        ).scalar_one()
        step = totp.matching_step(secret, otp, self.clock(), self.settings.totp_window_steps)
        if step is None:
            self._fail(user, key, "bad_code", ctx)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        if not totp.consume_step(self.conn, user.id, step):
            self._fail(user, key, "code_replayed", ctx)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        self.conn.execute(
            update(app_user)
            .where(app_user.c.id == user.id)
            .values(failed_attempts=0, locked_until=None)
        )

    def check_credentials(
        self, username: str, password: str, otp: str, *, address: str, ctx: AuditContext
    ) -> User:
        """Password and TOTP code, with throttle and lockout; raises on any failure."""
        user = self.check_password(username, password, address=address, ctx=ctx)
        self.check_code(user, otp, address=address, ctx=ctx)
        return user

    def sign_in(
        self, username: str, password: str, otp: str, *, address: str, ctx: AuditContext
    ) -> User:
        """Credentials, then standing (vetting, training, agreement, suspension, accreditation).

        The caller creates the session. Audits success and every kind of refusal.
        """
        user = self.check_credentials(username, password, otp, address=address, ctx=ctx)
        self.complete_sign_in(user, ctx=ctx)
        return user

    def complete_sign_in(self, user: User, *, ctx: AuditContext) -> None:
        """After both factors: refuse a user who is not cleared, else audit the sign-in."""
        user_ctx = AuditContext(user.actor, user.organisation.code, ctx.request_id)
        refused = vetting.refusals(user.standing, self.clock().date())
        if refused:
            self.audit(
                user_ctx,
                AuditAction.SIGN_IN_FAILED,
                subject=user.actor,
                details={"why": "not_cleared", "refusals": refused},
            )
            raise PermissionDenied("account not cleared for access: " + "; ".join(refused))
        self.audit(user_ctx, AuditAction.SIGN_IN, subject=user.actor)

    def step_up(
        self, user: User, password: str, otp: str, *, address: str, ctx: AuditContext
    ) -> None:
        """Re-authentication of a signed-in user (password + code) for sensitive actions."""
        self.check_credentials(user.username, password, otp, address=address, ctx=ctx)
        self.audit(ctx, AuditAction.STEP_UP, subject=user.actor)

    def sign_out(self, session_token: str | None, *, ctx: AuditContext, subject: str) -> None:
        """End a browser session (if any) and audit the sign-out."""
        if session_token:
            sessions.end(self.conn, session_token, now=self.clock())
        self.audit(ctx, AuditAction.SIGN_OUT, subject=subject)

    def still_cleared(self, user: User) -> bool:
        return not vetting.refusals(user.standing, self.clock().date())
