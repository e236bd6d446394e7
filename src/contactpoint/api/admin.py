"""User and organisation administration (JSON).

National administrators manage every organisation and user; a council team manages the users
of its own council area (practitioners and council-team members only). Nobody changes their
own privileges. Granting roles and resetting second factors need a sign-in within 5 minutes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access import totp
from contactpoint.access.admin import (
    OUT_OF_SCOPE,
    SELF_CHANGE_REFUSAL,
    sees_all_users,
    user_scope_refusal,
)
from contactpoint.access.models import Principal, User
from contactpoint.access.permissions import Permission, Role
from contactpoint.access.service import AccessService
from contactpoint.api.auth import OrganisationOut
from contactpoint.api.runtime import audit_context, runtime
from contactpoint.api.security import Require, signed_in
from contactpoint.errors import NotFound, PermissionDenied

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(signed_in)])

UserManager = Annotated[Principal, Depends(Require(Permission.ADMIN_USER_MANAGE))]
FreshUserManager = Annotated[
    Principal, Depends(Require(Permission.ADMIN_USER_MANAGE, recent_auth=True))
]
OrgManager = Annotated[Principal, Depends(Require(Permission.ADMIN_ORG_MANAGE))]


class UserOut(BaseModel):
    username: str
    organisation: str
    role: str
    suspended: bool
    locked: bool
    vetted_on: date | None
    trained_on: date | None
    agreement_signed_on: date | None


class NewUserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    organisation: str = Field(min_length=1, max_length=32)
    role: Role
    vetted_on: date | None = None
    trained_on: date | None = None
    agreement_signed_on: date | None = None


class NewUserOut(BaseModel):
    user: UserOut
    totp_secret: str
    totp_uri: str


class UserChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    vetted_on: date | None = None
    trained_on: date | None = None
    agreement_signed_on: date | None = None


class SecretOut(BaseModel):
    totp_secret: str
    totp_uri: str


class NewOrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    accredited: bool = False
    la_code: str | None = Field(default=None, max_length=16)


class AccreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accredited: bool


def user_out(user: User, service: AccessService) -> UserOut:
    locked = user.locked_until is not None and user.locked_until > service.clock()
    return UserOut(
        username=user.username,
        organisation=user.organisation.code,
        role=user.role.value,
        suspended=user.suspended,
        locked=locked,
        vetted_on=user.vetted_on,
        trained_on=user.trained_on,
        agreement_signed_on=user.agreement_signed_on,
    )


def _refuse(actor: Principal, refusal: str) -> PermissionDenied:
    """A national administrator is told why; anyone else gets one answer for every request
    outside their scope, whether the account or organisation exists or not (finding 4). The
    audit entry keeps the real reason (finding 7)."""
    if sees_all_users(actor) or refusal == SELF_CHANGE_REFUSAL:
        return PermissionDenied(refusal)
    return PermissionDenied(OUT_OF_SCOPE, reason=refusal)


def _changeable(service: AccessService, actor: Principal, user: User) -> User:
    """``user``, unless ``actor`` may not change its privileges (review finding 5)."""
    refusal = service.privilege_change_refusal(actor.id, user)
    if refusal is not None:
        raise PermissionDenied(refusal)
    return user


def _target(
    service: AccessService, actor: Principal, username: str, new_role: Role | None = None
) -> User:
    """The user ``actor`` wants to manage, or 403 (404 only for a national administrator)."""
    try:
        user = service.user(username)
    except NotFound:
        if sees_all_users(actor):
            raise
        raise _refuse(actor, "no such user") from None
    roles = {user.role} | ({new_role} if new_role is not None else set())
    refusal = user_scope_refusal(actor, user.organisation, roles, user.id)
    if refusal is not None:
        raise _refuse(actor, refusal)
    return user


@router.get("/users")
def list_users(request: Request, actor: UserManager) -> list[UserOut]:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        found = service.users(la_code=actor.organisation.la_code, all_areas=sees_all_users(actor))
        if not sees_all_users(actor) and actor.organisation.la_code is None:
            found = []
        return [user_out(u, service) for u in found]


@router.post("/users", status_code=201)
def create_user(body: NewUserIn, request: Request, actor: FreshUserManager) -> NewUserOut:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        try:
            org = service.organisation(body.organisation)
        except NotFound:
            if sees_all_users(actor):
                raise
            raise _refuse(actor, "no such organisation") from None
        refusal = user_scope_refusal(actor, org, {body.role}, None)
        if refusal is not None:
            raise _refuse(actor, refusal)
        made = service.create_user(
            body.username,
            body.password,
            organisation_code=org.code,
            role=body.role,
            vetted_on=body.vetted_on,
            trained_on=body.trained_on,
            agreement_signed_on=body.agreement_signed_on,
            ctx=audit_context(request, actor),
        )
        return NewUserOut(
            user=user_out(made.user, service),
            totp_secret=made.totp_secret,
            totp_uri=totp.provisioning_uri(
                made.totp_secret, made.user.username, rt.access.totp_issuer
            ),
        )


@router.get("/users/{username}")
def get_user(username: str, request: Request, actor: UserManager) -> UserOut:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        return user_out(_target(service, actor, username), service)


@router.patch("/users/{username}")
def update_user(
    username: str, body: UserChangeIn, request: Request, actor: FreshUserManager
) -> UserOut:
    rt = runtime(request)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = _changeable(service, actor, _target(service, actor, username, body.role))
        if "role" in changes and changes["role"] is None:
            del changes["role"]
        updated = service.update_user(user, ctx=audit_context(request, actor), **changes)
        return user_out(updated, service)


def _set_suspended(username: str, request: Request, actor: Principal, value: bool) -> UserOut:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = _changeable(service, actor, _target(service, actor, username))
        updated = service.set_suspended(user, value, ctx=audit_context(request, actor))
        return user_out(updated, service)


@router.post("/users/{username}/suspend")
def suspend_user(username: str, request: Request, actor: UserManager) -> UserOut:
    return _set_suspended(username, request, actor, True)


@router.post("/users/{username}/unsuspend")
def unsuspend_user(username: str, request: Request, actor: FreshUserManager) -> UserOut:
    return _set_suspended(username, request, actor, False)


@router.post("/users/{username}/reset-2fa")
def reset_second_factor(username: str, request: Request, actor: FreshUserManager) -> SecretOut:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = _changeable(service, actor, _target(service, actor, username))
        secret = service.reset_totp(user, ctx=audit_context(request, actor))
        return SecretOut(
            totp_secret=secret,
            totp_uri=totp.provisioning_uri(secret, user.username, rt.access.totp_issuer),
        )


def org_out(code: str, service: AccessService) -> dict[str, Any]:
    org = service.organisation(code)
    return {
        **OrganisationOut(code=org.code, name=org.name, kind=org.kind, la_code=org.la_code)
        .model_dump(),
        "accredited": org.accredited,
    }


@router.get("/orgs")
def list_orgs(request: Request, actor: OrgManager) -> list[dict[str, Any]]:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        return [org_out(org.code, service) for org in service.organisations()]


@router.post("/orgs", status_code=201)
def create_org(body: NewOrgIn, request: Request, actor: OrgManager) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        org = service.create_organisation(
            body.code,
            body.name,
            body.kind,
            accredited=body.accredited,
            la_code=body.la_code,
            ctx=audit_context(request, actor),
        )
        return org_out(org.code, service)


@router.post("/orgs/{code}/accreditation")
def accredit_org(
    code: str, body: AccreditIn, request: Request, actor: OrgManager
) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        service.set_accredited(code, body.accredited, ctx=audit_context(request, actor))
        return org_out(code, service)
