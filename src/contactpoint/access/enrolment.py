"""First sign-in enrolment (review finding 5): whoever created an account never holds its
working factors.

A new account is created with ``must_enrol``. Its first sign-in is two calls:

1. :func:`start` — the password and code the creator handed over (with throttle and
   lockout, like any sign-in); a **new** TOTP secret is made, kept sealed in
   ``pending_totp_secret`` and shown once.
2. :func:`finish` — the same password, a **new** password (the usual policy, and not the old
   one) and a code from the **new** secret. Both factors are replaced at once, the account is
   enrolled, and the caller gets a session.

Until then the old factors sign nobody in (``EnrolmentRequired``).
"""

from __future__ import annotations

from sqlalchemy import select, update

from contactpoint.access import lockout, passwords, totp
from contactpoint.access.models import AuditContext, User
from contactpoint.access.service import SIGN_IN_FAILED_MESSAGE, AccessService
from contactpoint.access.tables import app_user
from contactpoint.audit.trail import AuditAction
from contactpoint.errors import AuthenticationFailed, PermissionDenied, ValidationFailed

NOT_ENROLLING = "this account has no enrolment to complete"


def start(
    service: AccessService, username: str, password: str, otp: str, *, address: str,
    ctx: AuditContext,
) -> tuple[User, str]:
    """Check the handed-over factors; returns the user and a new secret (shown once)."""
    user = service.check_credentials(username, password, otp, address=address, ctx=ctx)
    return user, begin(service, user, ctx=ctx)


def begin(service: AccessService, user: User, *, ctx: AuditContext) -> str:
    """After the handed-over factors have passed (:func:`start`, or the web's two sign-in
    steps): refuse an account with nothing to enrol or without standing, else make, keep
    sealed and return a new secret (shown once)."""
    if not user.must_enrol:
        raise PermissionDenied(NOT_ENROLLING)
    service.complete_sign_in(user, ctx=ctx, enrolling=True)  # standing must be clear too
    secret = totp.new_secret()
    service.conn.execute(
        update(app_user)
        .where(app_user.c.id == user.id)
        .values(pending_totp_secret=service.box.seal(secret), updated_at=service.clock())
    )
    return secret


def pending_secret(service: AccessService, user_id: int) -> str | None:
    """The new secret :func:`begin` made and :func:`finish` has not yet taken (opened), so a
    page can show it again after a mistake on the enrolment form; else None."""
    stored = service.conn.execute(
        select(app_user.c.pending_totp_secret).where(app_user.c.id == user_id)
    ).scalar_one_or_none()
    return None if stored is None else service.box.open(stored)


def finish(
    service: AccessService, username: str, password: str, new_password: str, otp: str, *,
    address: str, ctx: AuditContext,
) -> User:
    """Replace both factors; raises (after bookkeeping) on any failure."""
    user = service.check_password(username, password, address=address, ctx=ctx)
    pending = service.conn.execute(
        select(app_user.c.pending_totp_secret).where(app_user.c.id == user.id)
    ).scalar_one()
    if not user.must_enrol or pending is None:
        raise PermissionDenied(NOT_ENROLLING)
    passwords.check(new_password, username=user.username)
    if new_password == password:
        raise ValidationFailed("the new password must differ from the one you were given")
    secret = service.box.open(pending)
    step = totp.matching_step(secret, otp, service.clock(), service.settings.totp_window_steps)
    if step is None:
        service.record_failure(user, address, "bad_code", ctx)
        raise AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
    service.conn.execute(
        update(app_user)
        .where(app_user.c.id == user.id)
        .values(
            password_hash=service.hashing.hash(new_password),
            totp_secret=pending,
            pending_totp_secret=None,
            totp_last_step=step,
            must_enrol=False,
            updated_at=service.clock(),
        )
    )
    lockout.reset_account(service.conn, user.id)
    service.audit(
        AuditContext(user.actor, user.organisation.code, ctx.request_id),
        AuditAction.ENROLMENT,
        subject=user.actor,
        details={"password": "replaced", "second_factor": "replaced"},
    )
    enrolled = service.user_by_id(user.id)
    service.complete_sign_in(enrolled, ctx=ctx)
    return enrolled
