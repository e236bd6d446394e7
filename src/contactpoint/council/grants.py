"""Per-user grants on top of roles: a council team grants a named user of its own area a
permission that is not a whole role (the shield override, for police child-abuse investigators
and child-protection social workers). The policy reads them through :func:`has_grant`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from contactpoint.access.accounts import _USER_COLUMNS, normalise_username, user_from_row
from contactpoint.access.models import Principal, User
from contactpoint.access.permissions import GrantablePermission, Permission
from contactpoint.access.tables import app_user, organisation
from contactpoint.audit.trail import AuditAction
from contactpoint.council.common import audit
from contactpoint.council.policy import council_area, grant_refusal
from contactpoint.council.tables import user_grant
from contactpoint.errors import Conflict, NotFound, PermissionDenied, ReasonRequired


@dataclass(frozen=True)
class Grant:
    id: int
    username: str
    permission: str
    reason: str
    granted_by: str
    granted_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def has_grant(conn: Connection, user: int | User | Principal,
              permission: Permission | GrantablePermission) -> bool:
    """Whether the user (an id, a user, or a signed-in user's principal) holds an unrevoked
    grant of ``permission``: the policy's question. A machine client holds none."""
    if isinstance(user, Principal) and user.kind != "user":
        return False
    user_id = user if isinstance(user, int) else user.id
    g = user_grant.c
    return conn.execute(select(g.id).where(
        g.user_id == user_id, g.permission == permission.value, g.revoked_at.is_(None)
    ).limit(1)).first() is not None


def _user(conn: Connection, username: str) -> User:
    row = conn.execute(
        select(*_USER_COLUMNS).select_from(app_user.join(organisation))
        .where(app_user.c.username == normalise_username(username))).first()
    if row is None:
        raise PermissionDenied("not permitted to manage this user")  # as for another area
    return user_from_row(row)


def _grants(conn: Connection, where: list[object]) -> list[Grant]:
    g = user_grant.c
    stmt = (select(user_grant, app_user.c.username).join(app_user, app_user.c.id == g.user_id)
            .order_by(g.id))
    for w in where:
        stmt = stmt.where(w)  # type: ignore[arg-type]
    return [Grant(int(r.id), r.username, r.permission, r.reason, r.granted_by, r.granted_at,
                  r.revoked_by, r.revoked_at) for r in conn.execute(stmt)]


def grant(conn: Connection, actor: Principal, username: str, permission: GrantablePermission,
          *, reason: str | None, now: datetime, request_id: str | None = None) -> Grant:
    target = _user(conn, username)
    refusal = grant_refusal(actor, target, permission)
    if refusal is not None:
        raise PermissionDenied(refusal)
    if not reason or not reason.strip():
        raise ReasonRequired("a reason is required")
    if has_grant(conn, target.id, permission):
        raise Conflict("this user already holds this grant")
    gid = int(conn.execute(insert(user_grant).values(
        user_id=target.id, permission=permission.value, reason=reason.strip(),
        granted_by=actor.actor, granted_at=now).returning(user_grant.c.id)).scalar_one())
    audit(conn, actor, request_id, AuditAction.GRANT_ADD,
          reason=reason.strip(), subject=f"user:{target.username}",
          details={"grant": gid, "permission": permission.value}, at=now)
    return _grants(conn, [user_grant.c.id == gid])[0]


def revoke(conn: Connection, actor: Principal, grant_id: int, *, now: datetime,
           request_id: str | None = None) -> Grant:
    found = _grants(conn, [user_grant.c.id == grant_id])
    if not found:
        raise NotFound("no such grant")
    current = found[0]
    target = _user(conn, current.username)
    refusal = grant_refusal(actor, target, GrantablePermission(current.permission))
    if refusal is not None:
        raise NotFound("no such grant")  # another area's grants are not there for you
    if not current.active:
        raise Conflict("this grant is already revoked")
    conn.execute(update(user_grant).where(user_grant.c.id == grant_id).values(
        revoked_by=actor.actor, revoked_at=now))
    audit(conn, actor, request_id, AuditAction.GRANT_REVOKE,
          subject=f"user:{target.username}",
          details={"grant": grant_id, "permission": current.permission}, at=now)
    return _grants(conn, [user_grant.c.id == grant_id])[0]


def list_for_area(conn: Connection, actor: Principal) -> list[Grant]:
    """Grants held by users of organisations in the actor's council area."""
    area = council_area(actor)
    if area is None:
        return []
    ids = select(app_user.c.id).join(organisation, organisation.c.id == app_user.c.organisation_id
                                     ).where(organisation.c.la_code == area)
    return _grants(conn, [user_grant.c.user_id.in_(ids)])
