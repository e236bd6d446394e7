"""Who may act for a child's council, and who may grant what: pure rules over principals
(imitating :func:`contactpoint.access.admin.user_scope_refusal`). ``None`` means allowed."""

from __future__ import annotations

from contactpoint.access.models import Principal, User
from contactpoint.access.permissions import GrantablePermission, Permission, Role


def council_area(actor: Principal) -> str | None:
    """The council area a council-team user acts for (``None``: not a council team)."""
    if actor.kind != "user" or actor.role is not Role.COUNCIL_TEAM:
        return None
    return actor.organisation.la_code


def council_refusal(actor: Principal, owning_la: str | None, permission: Permission) -> str | None:
    """Why ``actor`` may not act (``permission``) for a child whose responsible council is
    ``owning_la``. Only a signed-in member of that council's team may; a child with no council
    has none to act for it (it is on the national report until allocated)."""
    if not actor.has(permission):
        return "not permitted"
    area = council_area(actor)
    if area is None:
        return "only a council team acts for a child"
    if owning_la is None or owning_la != area:
        return "this child is not in your council's care"
    return None


def grant_refusal(actor: Principal, target: User, permission: GrantablePermission) -> str | None:
    """Why ``actor`` may not grant (or revoke) ``permission`` to ``target``: a council team
    grants only to users of organisations in its own area, never to itself, and only to
    practitioners and council-team members."""
    if not actor.has(Permission.ADMIN_GRANT_MANAGE):
        return "not permitted to manage grants"
    area = council_area(actor)
    if area is None:
        return "only a council team grants permissions"
    if target.id == actor.id:
        return "nobody may change their own privileges"
    if target.organisation.la_code != area:
        return "not permitted to manage users outside your council area"
    if target.role not in (Role.PRACTITIONER, Role.COUNCIL_TEAM):
        return "not permitted to grant to this role"
    if permission.value not in {p.value for p in Permission}:
        return "unknown permission"
    return None
