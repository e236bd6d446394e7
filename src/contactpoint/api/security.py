"""Authentication and authorisation declared on routers: ``Depends(Require(Permission.X))``.

A request is either anonymous, a signed-in user (full session cookie; a pending-2FA session
counts as anonymous) or a machine client (``Authorization: Bearer``). Every user request
re-checks the user's standing (suspension, vetting, accreditation).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from contactpoint.access import accounts, clients, sessions
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission, permissions_for
from contactpoint.api.bearer import bearer_from_header
from contactpoint.api.runtime import Runtime, keep_open_unit, runtime, shares_transaction
from contactpoint.db.uow import UnitOfWork
from contactpoint.errors import AuthenticationFailed, PermissionDenied, ReauthenticationRequired

_UNSET = object()


def bearer_token(request: Request) -> str | None:
    return bearer_from_header(request.headers.get("authorization", ""))


def _resolve(request: Request) -> Principal | None:
    rt = runtime(request)
    token = bearer_token(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if token is None and not cookie:
        return None  # anonymous: no database round trip
    uow = UnitOfWork(rt.engine).__enter__()
    kept = False
    try:
        principal, wrote = _principal(rt, uow.connection, token, cookie)
        if wrote or principal is None or not shares_transaction(request):
            uow.commit()
        if principal is not None and shares_transaction(request):
            keep_open_unit(request, uow)  # the endpoint goes on in this transaction
            kept = True
        return principal
    finally:
        if not kept:
            uow.__exit__(None, None, None)


def _principal(rt: Runtime, conn: Connection, token: str | None, cookie: str | None
               ) -> tuple[Principal | None, bool]:
    """The principal, and whether the look-up wrote anything (a bearer token's use, a session's
    idle timer or its end), which must be committed whatever the endpoint does next."""
    now = rt.clock()
    service = rt.service(conn)
    if token is not None:
        return clients.principal_for_token(
            conn, token, now=now, organisation=service.organisation_by_id
        ), True
    assert cookie is not None
    found = accounts.session_user(conn, cookie, now=now, settings=rt.access)
    if found is None or not found[0].authenticated:
        return None, True
    session, user = found
    if not service.still_cleared(user):
        sessions.end(conn, cookie, now=now)
        return None, True
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        organisation=user.organisation,
        role=user.role,
        permissions=permissions_for(user.role),
        authenticated_at=session.authenticated_at,
        session_id_hash=session.id_hash,
    ), session.touched


def current_principal(request: Request) -> Principal | None:
    """The principal of this request (resolved once, cached on the request)."""
    cached = getattr(request.state, "principal", _UNSET)
    if cached is _UNSET:
        cached = _resolve(request)
        request.state.principal = cached
    assert cached is None or isinstance(cached, Principal)
    return cached


def signed_in(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise AuthenticationFailed("sign-in required")
    return principal


class Require:
    """Dependency: a principal holding every listed permission (401 anonymous, 403 lacking)."""

    def __init__(self, *permissions: Permission, recent_auth: bool = False) -> None:
        self.permissions = frozenset(permissions)
        self.recent_auth = recent_auth

    async def __call__(self, request: Request) -> Principal:
        # Async, so a route costs no thread hand-off for it: the router's ``signed_in`` has
        # usually resolved the principal already; when not, the database look-up runs in the
        # thread pool, never on the event loop.
        cached = getattr(request.state, "principal", _UNSET)
        principal = (signed_in(request) if cached is not _UNSET
                     else await run_in_threadpool(signed_in, request))
        return self.check(request, principal)

    def check(self, request: Request, principal: Principal) -> Principal:
        """``principal`` if it holds this requirement, else the refusal (403 or 401)."""
        if not self.permissions <= principal.permissions:
            raise PermissionDenied("not permitted")
        if self.recent_auth:
            rt = runtime(request)
            if principal.kind != "user" or principal.authenticated_at is None:
                raise PermissionDenied("this action needs a signed-in person")
            age = rt.clock() - principal.authenticated_at
            if age.total_seconds() > rt.access.reauth_minutes * 60:
                raise ReauthenticationRequired(
                    "sign in again (password and code) to do this: POST /api/auth/reauth"
                )
        return principal

    def __repr__(self) -> str:
        return f"Require({', '.join(sorted(self.permissions))})"


# --- the sign-in check in the endpoint's own thread -------------------------------------------

_PENDING = "contactpoint_pending_check"  # request.state: the Checked a route has not settled


def has_credentials(request: Request) -> bool:
    """Whether the request carries a bearer token or a session cookie (else it is anonymous,
    known without a database round trip)."""
    return bearer_token(request) is not None or bool(request.cookies.get(SESSION_COOKIE))


async def signed_in_here_or_later(request: Request) -> None:
    """Router dependency: :func:`signed_in`, except that on a route marked
    ``shares_sign_in_transaction`` a request with credentials is checked later, in the
    endpoint's own thread (:class:`Checked`): one thread hand-off per request, not two. An
    anonymous request is refused here either way (no database needed to know it)."""
    if getattr(request.state, "principal", _UNSET) is not _UNSET or not has_credentials(request):
        signed_in(request)  # cached, or anonymous: answered without the database
    elif not shares_transaction(request):
        await run_in_threadpool(signed_in, request)


class Checked:
    """A :class:`RequireInEndpoint` requirement still to be checked: :meth:`principal`, called
    in the endpoint's thread, makes the sign-in check (its transaction left open for the
    endpoint) and the permission check, raising their refusal."""

    def __init__(self, request: Request, requirement: Require) -> None:
        self._request = request
        self._requirement = requirement

    def principal(self) -> Principal:
        """The signed-in principal holding the requirement (may touch the database: call it
        from a worker thread, never on the event loop)."""
        setattr(self._request.state, _PENDING, None)
        return self._requirement.check(self._request, signed_in(self._request))


class RequireInEndpoint(Require):
    """:class:`Require` for a route marked ``shares_sign_in_transaction`` behind
    :func:`signed_in_here_or_later`: the dependency hands the endpoint a :class:`Checked`, and
    the endpoint calls its ``principal()`` first, in its own thread. A request refused on its
    body (422) is still refused for its sign-in or permission first, as with :class:`Require`
    (:class:`CheckedFirstRoute`)."""

    async def __call__(self, request: Request) -> Checked:  # type: ignore[override]
        checked = Checked(request, self)
        if getattr(request.state, "principal", _UNSET) is not _UNSET:
            checked.principal()  # resolved already (no database): refuse here, as Require
        else:
            setattr(request.state, _PENDING, checked)
        return checked


async def settle_pending(request: Request) -> None:
    """Make a pending :class:`Checked`'s checks (in the thread pool), raising their refusal:
    for a request about to be refused for another reason that comes after them (its body)."""
    checked = getattr(request.state, _PENDING, None)
    if isinstance(checked, Checked):
        await run_in_threadpool(checked.principal)


class CheckedFirstRoute(APIRoute):
    """A route whose request, refused on its body (422), is first refused for a pending
    :class:`Checked` (401, 403), as when the sign-in check runs before the body is read: a
    caller without the permission learns nothing more from a bad body than from a good one."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked_first(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                await settle_pending(request)
                raise

        return checked_first
