"""Sign-in, step-up, sign-out and "who am I" (JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access import clients, enrolment, sessions, totp
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import audit_context, client_address, runtime
from contactpoint.api.security import Require, bearer_token, signed_in
from contactpoint.errors import ContactPointError, PermissionDenied
from contactpoint.ops import metrics

public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["auth"], dependencies=[Depends(signed_in)])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    otp: str = Field(min_length=1, max_length=16)


class EnrolStartRequest(LoginRequest):
    """The password and code the account's creator handed over."""


class EnrolFinishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
    otp: str = Field(min_length=1, max_length=16, description="a code from the NEW secret")


class EnrolStartOut(BaseModel):
    totp_secret: str
    totp_uri: str


class StepUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=1024)
    otp: str = Field(min_length=1, max_length=16)


class OrganisationOut(BaseModel):
    code: str
    name: str
    kind: str
    la_code: str | None


class MeOut(BaseModel):
    kind: str
    name: str
    role: str | None
    organisation: OrganisationOut
    permissions: list[str]


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, secure=True, httponly=True, samesite="strict", path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, secure=True, httponly=True, samesite="strict", path="/"
    )


def me_out(principal: Principal) -> MeOut:
    org = principal.organisation
    return MeOut(
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value if principal.role else None,
        organisation=OrganisationOut(
            code=org.code, name=org.name, kind=org.kind, la_code=org.la_code
        ),
        permissions=sorted(principal.permissions),
    )


@public_router.post("/api/auth/login")
def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
    """Password and TOTP code in one step; 200 and a new session cookie."""
    rt = runtime(request)
    failure: ContactPointError | None = None
    with rt.transaction() as conn:
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            sessions.end(conn, old, now=rt.clock())
        try:
            user = rt.service(conn).sign_in(
                body.username,
                body.password,
                body.otp,
                address=client_address(request),
                ctx=audit_context(request),
            )
        except ContactPointError as exc:
            failure = exc  # keep the bookkeeping (counters, audit): commit, then refuse
        else:
            token = sessions.create(conn, user.id, authenticated=True, now=rt.clock())
            notices = rt.service(conn).take_notices(user.id)
    if failure is not None:
        metrics.record_sign_in_failure(failure.code)
        raise failure
    set_session_cookie(response, token)
    return {"username": user.username, "role": user.role.value, "notices": notices}


@public_router.post("/api/auth/enrol/start")
def enrol_start(body: EnrolStartRequest, request: Request) -> EnrolStartOut:
    """First sign-in, step 1: the handed-over factors; a new TOTP secret, shown once."""
    rt = runtime(request)
    failure: ContactPointError | None = None
    with rt.transaction() as conn:
        try:
            user, secret = enrolment.start(
                rt.service(conn), body.username, body.password, body.otp,
                address=client_address(request), ctx=audit_context(request),
            )
        except ContactPointError as exc:
            failure = exc  # keep the bookkeeping (counters, audit): commit, then refuse
    if failure is not None:
        raise failure
    return EnrolStartOut(
        totp_secret=secret,
        totp_uri=totp.provisioning_uri(secret, user.username, rt.access.totp_issuer),
    )


@public_router.post("/api/auth/enrol/finish")
def enrol_finish(
    body: EnrolFinishRequest, request: Request, response: Response
) -> dict[str, Any]:
    """First sign-in, step 2: a new password and a code from the new secret; both factors
    are replaced and a session starts."""
    rt = runtime(request)
    failure: ContactPointError | None = None
    with rt.transaction() as conn:
        try:
            user = enrolment.finish(
                rt.service(conn), body.username, body.password, body.new_password, body.otp,
                address=client_address(request), ctx=audit_context(request),
            )
        except ContactPointError as exc:
            failure = exc
        else:
            token = sessions.create(conn, user.id, authenticated=True, now=rt.clock())
    if failure is not None:
        raise failure
    set_session_cookie(response, token)
    return {"username": user.username, "role": user.role.value, "enrolled": True}


@router.post("/api/auth/reauth")
def reauth(
    body: StepUpRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(Require(Permission.SELF_PROFILE_READ))],
) -> dict[str, Any]:
    """Step-up: password and code again; a new session id and a fresh authentication time."""
    if principal.kind != "user" or principal.session_id_hash is None:
        raise PermissionDenied("only people sign in again")
    rt = runtime(request)
    failure: ContactPointError | None = None
    cookie = request.cookies.get(SESSION_COOKIE, "")
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = service.user_by_id(principal.id)
        try:
            service.step_up(
                user,
                body.password,
                body.otp,
                address=client_address(request),
                ctx=audit_context(request, principal),
            )
        except ContactPointError as exc:
            failure = exc
        else:
            session = sessions.load(conn, cookie, now=rt.clock(), settings=rt.access)
            if session is None:
                raise PermissionDenied("session ended")
            token = sessions.promote(conn, session, now=rt.clock())
    if failure is not None:
        metrics.record_sign_in_failure(failure.code)
        raise failure
    set_session_cookie(response, token)
    return {"reauthenticated": True}


@router.post("/api/auth/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    principal = signed_in(request)
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    token = bearer_token(request)
    with rt.transaction() as conn:
        if token is not None:
            clients.revoke(conn, token)
        rt.service(conn).sign_out(
            cookie if token is None else None,
            ctx=audit_context(request, principal),
            subject=principal.actor,
        )
    clear_session_cookie(response)


@router.get("/api/me")
def me(principal: Annotated[Principal, Depends(Require(Permission.SELF_PROFILE_READ))]) -> MeOut:
    return me_out(principal)
