"""Who may administer whom: pure rules over principals, organisations and roles."""

from __future__ import annotations

from contactpoint.access.models import Organisation, Principal, User
from contactpoint.access.permissions import GRANTABLE_ROLES, Permission, Role
from contactpoint.access.service import AccessService
from contactpoint.errors import NotFound, PermissionDenied

# The one answer to every request outside a council team's scope (docs/security/access.md).
OUT_OF_SCOPE = "not permitted to manage this user"
SELF_CHANGE_REFUSAL = "nobody may change their own privileges"


def user_scope_refusal(
    actor: Principal,
    target_org: Organisation,
    target_roles: set[Role],
    target_user_id: int | None,
) -> str | None:
    """Why ``actor`` may not manage a user of ``target_org`` holding/receiving ``target_roles``.

    ``None`` means allowed. Nobody manages their own account's privileges; a council team
    manages only users of organisations in its own council area, and only roles it may grant.
    """
    if actor.kind != "user" or actor.role is None or not actor.has(Permission.ADMIN_USER_MANAGE):
        return "not permitted to manage users"
    if target_user_id is not None and target_user_id == actor.id:
        return SELF_CHANGE_REFUSAL
    grantable = GRANTABLE_ROLES.get(actor.role, frozenset())
    if not target_roles <= grantable:
        return "not permitted to manage users with this role"
    if actor.role is Role.NATIONAL_ADMIN:
        return None
    area = actor.organisation.la_code
    if area is None or target_org.la_code != area:
        return "not permitted to manage users outside your council area"
    return None


def sees_all_users(actor: Principal) -> bool:
    return actor.role is Role.NATIONAL_ADMIN


def refuse(actor: Principal, refusal: str) -> PermissionDenied:
    """A national administrator is told why; anyone else gets one answer for every request
    outside their scope, whether the account or organisation exists or not. The audit entry
    keeps the real reason."""
    if sees_all_users(actor) or refusal == SELF_CHANGE_REFUSAL:
        return PermissionDenied(refusal)
    return PermissionDenied(OUT_OF_SCOPE, reason=refusal)


def managed_user(
    service: AccessService, actor: Principal, username: str, new_role: Role | None = None
) -> User:
    """The user ``actor`` wants to manage, or ``PermissionDenied``.

    A user outside the actor's scope and one that does not exist get the same refusal; only a
    national administrator (who sees every user) is told ``NotFound``. Nobody changes the
    privileges of an account they created, or of one whose creator is younger than a day
    (``AccessService.privilege_change_refusal``).
    """
    try:
        user = service.user(username)
    except NotFound:
        if sees_all_users(actor):
            raise
        raise refuse(actor, "no such user") from None
    roles = {user.role} | ({new_role} if new_role is not None else set())
    refusal = user_scope_refusal(actor, user.organisation, roles, user.id)
    if refusal is not None:
        raise refuse(actor, refusal)
    refusal = service.privilege_change_refusal(actor.id, user)
    if refusal is not None:
        raise PermissionDenied(refusal)
    return user


def organisation_for_new_user(
    service: AccessService, actor: Principal, code: str, role: Role
) -> Organisation:
    """The organisation a new user of ``role`` would join, or ``PermissionDenied``."""
    try:
        org = service.organisation(code)
    except NotFound:
        if sees_all_users(actor):
            raise
        raise refuse(actor, "no such organisation") from None
    refusal = user_scope_refusal(actor, org, {role}, None)
    if refusal is not None:
        raise refuse(actor, refusal)
    return org


def visible_users(service: AccessService, actor: Principal) -> list[User]:
    """The users ``actor`` manages: everyone for a national administrator, else its area's."""
    if sees_all_users(actor):
        return service.users(all_areas=True)
    if actor.organisation.la_code is None:
        return []
    return service.users(la_code=actor.organisation.la_code)


def assignable_organisations(service: AccessService, actor: Principal) -> list[Organisation]:
    """Organisations ``actor`` may add users to."""
    if sees_all_users(actor):
        return service.organisations()
    area = actor.organisation.la_code
    if area is None:
        return []
    return [org for org in service.organisations() if org.la_code == area]


def grantable_roles(actor: Principal) -> list[Role]:
    if actor.role is None:
        return []
    allowed = GRANTABLE_ROLES.get(actor.role, frozenset())
    return [role for role in Role if role in allowed]
