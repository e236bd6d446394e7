"""Who may administer whom: pure rules over principals, organisations and roles."""

from __future__ import annotations

from contactpoint.access.models import Organisation, Principal
from contactpoint.access.permissions import GRANTABLE_ROLES, Permission, Role

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
