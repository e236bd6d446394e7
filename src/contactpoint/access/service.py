"""Access services: sign-in with throttle, lockout and vetting, on top of the accounts.

Every operation runs in the caller's transaction and appends its audit entry there; the
caller commits. A refused sign-in raises *after* its bookkeeping (failure counters, audit), so
the caller commits before letting the error travel (see ``api/auth.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from contactpoint.access import lockout, sessions, totp, vetting
from contactpoint.access.accounts import Accounts, NewUser, normalise_username, user_from_row
from contactpoint.access.models import AuditContext, User
from contactpoint.access.tables import app_user
from contactpoint.audit.trail import AuditAction
from contactpoint.errors import (
    AccountLocked,
    AuthenticationFailed,
    EnrolmentRequired,
    PermissionDenied,
    Throttled,
)

__all__ = ["SIGN_IN_FAILED_MESSAGE", "AccessService", "NewUser", "normalise_username"]

SIGN_IN_FAILED_MESSAGE = "the username, password or code is not right"
ACCOUNT_LOCKED_MESSAGE = "account temporarily locked after repeated failed sign-ins"


class AccessService(Accounts):
    @property
    def _address_window(self) -> timedelta:
        return timedelta(minutes=self.settings.address_throttle_window_minutes)

    def _address_throttled(self, key: str) -> bool:
        return lockout.over_limit(
            self.conn,
            key,
            now=self.clock(),
            window=self._address_window,
            limit=self.settings.address_throttle_failures,
        )

    def _record_address_failure(self, key: str) -> None:
        lockout.count_in_window(self.conn, key, now=self.clock(), window=self._address_window)

    def count_refusal(
        self, key: str, ctx: AuditContext, *, subject: str | None, details: dict[str, Any]
    ) -> None:
        """An anonymous refusal: counted, but audited once per window per key (the first
        one, carrying how many the previous window held), so anonymous callers cannot grow
        the audit trail without bound (review finding 9)."""
        count = lockout.count_in_window(
            self.conn, key, now=self.clock(), window=self._address_window
        )
        if count.in_window == 1:
            self.audit(
                ctx,
                AuditAction.SIGN_IN_FAILED,
                subject=subject,
                details={
                    **details,
                    "counted_per_window_minutes": self.settings.address_throttle_window_minutes,
                    "previous_window_refusals": count.previous_window,
                },
            )

    def record_failure(self, user: User, address: str, why: str, ctx: AuditContext) -> None:
        """A failed factor check outside :meth:`check_password`/:meth:`check_code` (e.g. the
        enrolment code): the same counters, lock and audit."""
        self._fail(user, lockout.key_for("throttle", address), why, ctx)

    def token_throttled(self, address: str, client_id: str | None) -> bool:
        """Too many refused token requests from this address for this client (finding 9)."""
        return lockout.over_limit(
            self.conn,
            lockout.key_for("token", address, client_id or "-"),
            now=self.clock(),
            window=self._address_window,
            limit=self.settings.token_throttle_failures,
        )

    def record_token_refusal(
        self, address: str, client_id: str | None, error: str, ctx: AuditContext
    ) -> None:
        """A refused ``/oauth/token`` call: counted per address and client, audited once per
        window (the first), so anonymous callers cannot grow the audit trail at will."""
        self.count_refusal(
            lockout.key_for("token", address, client_id or "-"),
            ctx,
            subject=f"client:{client_id}" if client_id else None,
            details={"why": "client_assertion_refused", "error": error},
        )

    def _fail(self, user: User | None, key: str, why: str, ctx: AuditContext, *,
              name_key: str = "") -> None:
        """Count a failed attempt (account or unknown name, and address), audit it, maybe
        lock or suspend the account.

        Lock order is user row, then address row, then audit head, everywhere: a losing TOTP
        race can already hold the user row (PostgreSQL keeps the row locked after a failed
        re-check), so taking the address row first would deadlock.
        """
        now = self.clock()
        lock_for = timedelta(minutes=self.settings.lockout_minutes)
        failure: lockout.AccountFailure | None = None
        unknown_locked = False
        if user is not None:
            failure = lockout.count_account_failure(
                self.conn,
                user.id,
                now=now,
                threshold=self.settings.lockout_threshold,
                lock_for=lock_for,
                suspend_after=self.settings.suspend_after_failures,
            )
            if failure.suspended_now:
                sessions.end_all(self.conn, user.id, now=now)
        else:
            unknown_locked = lockout.count_unknown_failure(
                self.conn, name_key, now=now, threshold=self.settings.lockout_threshold,
                lock_for=lock_for,
            )
        self._record_address_failure(key)
        subject = user.actor if user is not None else None
        # The actor is unknown (whoever typed); the subject is the account tried.
        anonymous = AuditContext(None, user.organisation.code if user else None, ctx.request_id)
        self.audit(
            anonymous,
            AuditAction.SIGN_IN_FAILED,
            subject=subject,
            details={"why": why, "known_user": user is not None},
        )
        if (failure is not None and failure.locked) or unknown_locked:
            self.audit(
                anonymous,
                AuditAction.ACCOUNT_LOCKED,
                subject=subject,
                details={
                    "after_failures": self.settings.lockout_threshold,
                    "minutes": self.settings.lockout_minutes,
                    "known_user": user is not None,
                },
            )
        if failure is not None and failure.suspended_now:
            # The owner is told at their next sign-in (``pending_notice``) and by the 403
            # naming the suspension when they present the right password and code.
            self.audit(
                anonymous,
                AuditAction.ACCOUNT_SUSPENDED,
                subject=subject,
                details={"why": "consecutive_failures", "after_failures": failure.consecutive},
            )

    def check_password(
        self, username: str, password: str, *, address: str, ctx: AuditContext
    ) -> User:
        """First factor, with throttle and lockout; raises on any failure (after auditing).

        For a two-step sign-in the caller then holds a *pending* session until
        :meth:`check_code` passes; :meth:`sign_in` does both steps at once.
        """
        key = lockout.key_for("throttle", address)
        row = self._user_row(username) if len(username) <= 64 else None
        user = user_from_row(row) if row is not None else None
        if self._address_throttled(key):
            self.hashing.dummy_verify(password)
            self.count_refusal(
                lockout.key_for("throttled", address),
                ctx,
                subject=user.actor if user else None,
                details={"why": "address_throttled", "known_user": user is not None},
            )
            raise Throttled("too many failed sign-ins from this address; try again later")
        if row is None or user is None:
            name_key = lockout.unknown_name_key(username, self.box.keyed_hash)
            self.hashing.dummy_verify(password)
            if lockout.unknown_locked(self.conn, name_key, now=self.clock()):
                self._record_address_failure(key)
                self.audit(
                    ctx,
                    AuditAction.SIGN_IN_FAILED,
                    details={"why": "account_locked", "known_user": False},
                )
                raise AccountLocked(ACCOUNT_LOCKED_MESSAGE)
            self._fail(None, key, "unknown_user", ctx, name_key=name_key)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        if self._refuse_if_locked(user, key, ctx):
            self.hashing.dummy_verify(password)
            raise AccountLocked(ACCOUNT_LOCKED_MESSAGE)
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
        if not lockout.account_locked(self.conn, user.id, now=self.clock()):
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
        key = lockout.key_for("throttle", address)
        if self._refuse_if_locked(user, key, ctx):
            raise AccountLocked(ACCOUNT_LOCKED_MESSAGE)
        stored = self.conn.execute(
            select(app_user.c.totp_secret).where(app_user.c.id == user.id)
        ).scalar_one()
        secret = self.box.open(stored)
        step = totp.matching_step(secret, otp, self.clock(), self.settings.totp_window_steps)
        if step is None:
            self._fail(user, key, "bad_code", ctx)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        if not totp.consume_step(self.conn, user.id, step):
            self._fail(user, key, "code_replayed", ctx)
            raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        lockout.reset_account(self.conn, user.id)
        if not self.box.is_sealed(stored):  # stored before encryption at rest: seal it now
            self.conn.execute(
                update(app_user)
                .where(app_user.c.id == user.id)
                .values(totp_secret=self.box.seal(secret))
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

    def complete_sign_in(self, user: User, *, ctx: AuditContext, enrolling: bool = False) -> None:
        """After both factors: refuse a user who is not cleared or has still to enrol, else
        audit the sign-in."""
        user_ctx = AuditContext(user.actor, user.organisation.code, ctx.request_id)
        if user.must_enrol and not enrolling:
            self.audit(user_ctx, AuditAction.SIGN_IN_FAILED, subject=user.actor,
                       details={"why": "enrolment_required"})
            raise EnrolmentRequired(
                "first sign-in: choose a new password and set up a new authenticator "
                "(POST /api/auth/enrol/start, then /api/auth/enrol/finish)"
            )
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
