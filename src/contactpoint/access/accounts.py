"""Organisations and user accounts: create, look up, change, suspend, reset 2FA.

Every operation runs in the caller's transaction and appends its audit entry there; the
caller commits. :class:`contactpoint.access.service.AccessService` adds sign-in on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from contactpoint.access import passwords, sessions, totp
from contactpoint.access.config import AccessSettings, Clock
from contactpoint.access.models import AuditContext, Organisation, User
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.permissions import Role
from contactpoint.access.secretbox import SecretBox, load_box
from contactpoint.access.tables import ORG_KINDS, app_user, organisation, user_session
from contactpoint.audit.trail import AuditAction, append
from contactpoint.errors import Conflict, NotFound, ValidationFailed

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


NEW_ACCOUNT_WAIT = timedelta(hours=24)

NOTICES = {
    "suspended_after_failures": (
        "your account was suspended after 100 failed sign-in attempts in a row and has been "
        "restored by your council team; if those attempts were not yours, tell them"
    ),
}


@dataclass(frozen=True)
class NewUser:
    user: User
    totp_secret: str


def normalise_username(username: str) -> str:
    return username.strip().casefold()


def _org(row: Row[Any]) -> Organisation:
    return Organisation(
        id=int(row.id),
        code=row.code,
        name=row.name,
        kind=row.kind,
        la_code=row.la_code,
        accredited=bool(row.accredited),
    )


_USER_COLUMNS = (
    app_user.c.id.label("user_id"),
    app_user.c.username,
    app_user.c.role,
    app_user.c.suspended,
    app_user.c.vetted_on,
    app_user.c.trained_on,
    app_user.c.agreement_signed_on,
    app_user.c.locked_until,
    app_user.c.password_hash,
    app_user.c.totp_secret,
    app_user.c.created_at.label("user_created_at"),
    app_user.c.created_by,
    app_user.c.must_enrol,
    *organisation.c,
)
# Built once: every signed-in request reads its user (no construction or cache-key walk).
_USER_BY_ID = (select(*_USER_COLUMNS).select_from(app_user.join(organisation))
               .where(app_user.c.id == bindparam("user_id")))
# A signed-in request's session and its user in one statement (one round trip, not two):
# the session's columns by their own names (its ``user_id`` is the user's id, by the join),
# then the user's and the organisation's as :data:`_USER_COLUMNS` names them, less the ones
# the session names too (``user_id``; the organisation's timestamps, which no one reads here).
_SESSION_USER_BY_DIGEST = (
    select(*user_session.c, *(c for c in _USER_COLUMNS
                              if c.name not in ("user_id", "created_at", "updated_at")))
    .select_from(user_session.join(app_user).join(organisation))
    .where(user_session.c.id_hash == bindparam("id_hash"))
)


def session_user(
    conn: Connection, token: str, *, now: datetime, settings: AccessSettings
) -> tuple[sessions.Session, User] | None:
    """:func:`sessions.load` and the session's user, read together: the live session for
    ``token`` and its user, or None (no such session, or it ended or ran out)."""
    if not sessions.plausible(token):
        return None
    row = conn.execute(_SESSION_USER_BY_DIGEST, {"id_hash": sessions.digest(token)}).first()
    session = sessions.live(conn, row, now=now, settings=settings)
    if session is None or row is None:
        return None
    return session, user_from_row(row)


def user_from_row(row: Row[Any]) -> User:
    return User(
        id=int(row.user_id),
        username=row.username,
        organisation=_org(row),
        role=Role(row.role),
        suspended=bool(row.suspended),
        vetted_on=row.vetted_on,
        trained_on=row.trained_on,
        agreement_signed_on=row.agreement_signed_on,
        locked_until=row.locked_until,
        created_at=row.user_created_at,
        created_by=row.created_by,
        must_enrol=bool(row.must_enrol),
    )


class Accounts:
    def __init__(
        self,
        conn: Connection,
        settings: AccessSettings,
        hashing: PasswordHashing,
        clock: Clock,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.hashing = hashing
        self.clock = clock

    @property
    def box(self) -> SecretBox:
        """Seals and opens TOTP secrets (the key lives outside the database)."""
        return load_box(self.settings.effective_totp_key_file)

    # ---- audit -------------------------------------------------------------------------
    def audit(
        self,
        ctx: AuditContext,
        action: AuditAction,
        *,
        subject: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        append(
            self.conn,
            action=action,
            actor=ctx.actor,
            organisation=ctx.organisation,
            reason=reason,
            request_id=ctx.request_id,
            subject=subject,
            details=details,
            at=self.clock(),
        )

    def record_refusal(
        self,
        ctx: AuditContext,
        *,
        method: str,
        route: str,
        code: str,
        reason: str,
        subject: str | None = None,
    ) -> None:
        """A refused request of an authenticated caller (review finding 7)."""
        self.audit(
            ctx,
            AuditAction.ACCESS_REFUSED,
            subject=subject,
            details={"method": method, "route": route, "code": code, "reason": reason[:300]},
        )

    # ---- organisations -----------------------------------------------------------------
    def organisation(self, code: str) -> Organisation:
        row = self.conn.execute(select(organisation).where(organisation.c.code == code)).first()
        if row is None:
            raise NotFound("no such organisation")
        return _org(row)

    def organisation_by_id(self, org_id: int) -> Organisation:
        row = self.conn.execute(select(organisation).where(organisation.c.id == org_id)).first()
        if row is None:
            raise NotFound("no such organisation")
        return _org(row)

    def organisations(self) -> list[Organisation]:
        rows = self.conn.execute(select(organisation).order_by(organisation.c.code))
        return [_org(row) for row in rows]

    def create_organisation(
        self,
        code: str,
        name: str,
        kind: str,
        *,
        accredited: bool,
        la_code: str | None,
        ctx: AuditContext,
    ) -> Organisation:
        if not _CODE.match(code):
            raise ValidationFailed("organisation code: letters, digits, '-' or '_', 1–32")
        if kind not in ORG_KINDS:
            raise ValidationFailed(f"organisation kind must be one of {', '.join(ORG_KINDS)}")
        if not name.strip() or len(name) > 200:
            raise ValidationFailed("organisation name: 1–200 characters")
        if la_code is not None and not _CODE.match(la_code):
            raise ValidationFailed("council area code: letters, digits, '-' or '_'")
        now = self.clock()
        exists = select(organisation.c.id).where(organisation.c.code == code)
        if self.conn.execute(exists).first() is not None:
            raise Conflict("an organisation with this code exists")
        try:  # a concurrent create: the whole transaction is given up
            self.conn.execute(
                insert(organisation).values(
                    code=code,
                    name=name.strip(),
                    kind=kind,
                    la_code=la_code,
                    accredited=accredited,
                    created_at=now,
                    updated_at=now,
                )
            )
        except IntegrityError as exc:
            raise Conflict("an organisation with this code exists") from exc
        self.audit(
            ctx,
            AuditAction.ORG_CREATE,
            subject=f"org:{code}",
            details={"kind": kind, "accredited": accredited, "la_code": la_code},
        )
        return self.organisation(code)

    def set_accredited(self, code: str, accredited: bool, *, ctx: AuditContext) -> Organisation:
        org = self.organisation(code)
        self.conn.execute(
            update(organisation)
            .where(organisation.c.id == org.id)
            .values(accredited=accredited, updated_at=self.clock())
        )
        self.audit(
            ctx,
            AuditAction.ORG_UPDATE,
            subject=f"org:{code}",
            details={"accredited": accredited},
        )
        return self.organisation(code)

    # ---- users -------------------------------------------------------------------------
    def _user_row(self, username: str) -> Row[Any] | None:
        return self.conn.execute(
            select(*_USER_COLUMNS)
            .select_from(app_user.join(organisation))
            .where(app_user.c.username == normalise_username(username))
        ).first()

    def user(self, username: str) -> User:
        row = self._user_row(username)
        if row is None:
            raise NotFound("no such user")
        return user_from_row(row)

    def user_by_id(self, user_id: int) -> User:
        row = self.conn.execute(_USER_BY_ID, {"user_id": user_id}).first()
        if row is None:
            raise NotFound("no such user")
        return user_from_row(row)

    def users(self, *, la_code: str | None = None, all_areas: bool = False) -> list[User]:
        query = select(*_USER_COLUMNS).select_from(app_user.join(organisation))
        if not all_areas:
            query = query.where(organisation.c.la_code == la_code)
        rows = self.conn.execute(query.order_by(app_user.c.username))
        return [user_from_row(row) for row in rows]

    def create_user(
        self,
        username: str,
        password: str,
        *,
        organisation_code: str,
        role: Role,
        vetted_on: date | None,
        trained_on: date | None,
        agreement_signed_on: date | None,
        ctx: AuditContext,
        must_enrol: bool = True,
    ) -> NewUser:
        """A new account. Its first sign-in must choose a new password and enrol a new second
        factor (``must_enrol``, review finding 5), so whoever created it never holds working
        factors; only tests and the demo's own account skip that."""
        name = normalise_username(username)
        if not _USERNAME.match(name):
            raise ValidationFailed("username: 2–64 of a-z, 0-9, '.', '_', '@', '-'")
        passwords.check(password, username=name)
        org = self.organisation(organisation_code)
        secret = totp.new_secret()
        now = self.clock()
        if self._user_row(name) is not None:
            raise Conflict("a user with this username exists")
        try:  # a concurrent create: the whole transaction is given up
            self.conn.execute(
                insert(app_user).values(
                    username=name,
                    organisation_id=org.id,
                    role=role.value,
                    password_hash=self.hashing.hash(password),
                    totp_secret=self.box.seal(secret),
                    totp_last_step=None,
                    vetted_on=vetted_on,
                    trained_on=trained_on,
                    agreement_signed_on=agreement_signed_on,
                    suspended=False,
                    failed_attempts=0,
                    locked_until=None,
                    created_at=now,
                    updated_at=now,
                    must_enrol=must_enrol,
                    created_by=ctx.actor,
                )
            )
        except IntegrityError as exc:
            raise Conflict("a user with this username exists") from exc
        self.audit(
            ctx,
            AuditAction.USER_CREATE,
            subject=f"user:{name}",
            details={"organisation": org.code, "role": role.value, "must_enrol": must_enrol},
        )
        return NewUser(self.user(name), secret)

    def privilege_change_refusal(self, actor_id: int, target: User) -> str | None:
        """Why the account ``actor_id`` may not change ``target``'s privileges (finding 5).

        * an account younger than 24 hours changes nobody's privileges;
        * an account never changes the privileges of the account that created it, nor of any
          account up its chain of creators (A made B, B made C: C may not change A or B).
        """
        actor = self.user_by_id(actor_id)
        if actor.created_at is not None and self.clock() - actor.created_at < NEW_ACCOUNT_WAIT:
            return "an account less than 24 hours old may not change privileges"
        creator, hops = actor.created_by, 0
        while creator is not None and creator.startswith("user:") and hops < 32:
            if creator == target.actor:
                return "an account may not change the privileges of an account that created it"
            row = self._user_row(creator.removeprefix("user:"))
            creator = row.created_by if row is not None else None
            hops += 1
        return None

    def update_user(self, user: User, *, ctx: AuditContext, **changes: Any) -> User:
        """Change role or vetting dates; ``changes`` keys are column names."""
        allowed = {"role", "vetted_on", "trained_on", "agreement_signed_on"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}")
        if not changes:
            return user
        values = {k: (v.value if isinstance(v, Role) else v) for k, v in changes.items()}
        self.conn.execute(
            update(app_user)
            .where(app_user.c.id == user.id)
            .values(**values, updated_at=self.clock())
        )
        details = {k: (str(v) if v is not None else None) for k, v in values.items()}
        if "role" in changes and changes["role"] is not user.role:
            sessions.end_all(self.conn, user.id, now=self.clock())
            self.audit(
                ctx,
                AuditAction.ROLE_GRANT,
                subject=user.actor,
                details={"from": user.role.value, "to": values["role"]},
            )
        self.audit(ctx, AuditAction.USER_UPDATE, subject=user.actor, details=details)
        return self.user_by_id(user.id)

    def set_suspended(self, user: User, suspended: bool, *, ctx: AuditContext) -> User:
        """Suspend, or restore; restoring also clears every failure count and lock (a
        suspension after 100 consecutive failures ends only this way)."""
        values: dict[str, Any] = {"suspended": suspended, "updated_at": self.clock()}
        if not suspended:
            values.update(failed_attempts=0, consecutive_failures=0, locked_until=None)
        self.conn.execute(update(app_user).where(app_user.c.id == user.id).values(**values))
        if suspended:
            sessions.end_all(self.conn, user.id, now=self.clock())
        self.audit(
            ctx, AuditAction.USER_SUSPEND, subject=user.actor, details={"suspended": suspended}
        )
        return self.user_by_id(user.id)

    def take_notices(self, user_id: int) -> list[str]:
        """What the owner must be told at this sign-in (then forgotten)."""
        notice = self.conn.execute(
            select(app_user.c.pending_notice).where(app_user.c.id == user_id)
        ).scalar_one()
        if notice is None:
            return []
        self.conn.execute(
            update(app_user).where(app_user.c.id == user_id).values(pending_notice=None)
        )
        return [NOTICES.get(notice, notice)]

    def reset_totp(self, user: User, *, ctx: AuditContext) -> str:
        secret = totp.new_secret()
        self.conn.execute(
            update(app_user)
            .where(app_user.c.id == user.id)
            .values(
                totp_secret=self.box.seal(secret), totp_last_step=None, updated_at=self.clock()
            )
        )
        sessions.end_all(self.conn, user.id, now=self.clock())
        self.audit(ctx, AuditAction.MFA_RESET, subject=user.actor)
        return secret
