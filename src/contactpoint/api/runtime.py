"""What the routers need, built once by ``create_app`` and kept on ``app.state.runtime``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Connection, Engine

from contactpoint.access.config import AccessSettings, Clock
from contactpoint.access.models import AuditContext, Principal
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.service import AccessService
from contactpoint.db.uow import UnitOfWork
from contactpoint.settings import Settings

_OPEN_UNIT = "contactpoint_open_unit"  # scope["state"] key: the sign-in check's unit of work
_SHARES = "__contactpoint_shares_sign_in_transaction__"
E = TypeVar("E", bound=Callable[..., Any])


def shares_sign_in_transaction(endpoint: E) -> E:
    """Mark a route whose endpoint continues the sign-in check's transaction (one connection,
    one transaction per request: :meth:`Runtime.request_transaction`) rather than opening its
    own after it. For hot routes (practitioner search): a pool check-out, its ping, a BEGIN and
    a COMMIT fewer per request."""
    setattr(endpoint, _SHARES, True)
    return endpoint


def shares_transaction(request: Request) -> bool:
    """Whether the matched route asked to continue the sign-in check's transaction."""
    route = request.scope.get("route")
    return bool(getattr(getattr(route, "endpoint", None), _SHARES, False))


def keep_open_unit(request: Request, uow: UnitOfWork) -> None:
    """Leave ``uow`` (open, its transaction going on) for this request's endpoint."""
    request.scope.setdefault("state", {})[_OPEN_UNIT] = uow


def release_open_unit(scope: MutableMapping[str, Any]) -> None:
    """End a unit of work the sign-in check left open and no endpoint took (the request was
    refused before its endpoint ran): rolled back, its connection back to the pool."""
    uow = scope.get("state", {}).pop(_OPEN_UNIT, None)
    if isinstance(uow, UnitOfWork):
        uow.__exit__(None, None, None)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    access: AccessSettings
    engine: Engine
    hashing: PasswordHashing
    clock: Clock

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One unit of work: commits when the block ends normally, else rolls back."""
        with UnitOfWork(self.engine) as uow:
            yield uow.connection
            uow.commit()

    @contextmanager
    def request_transaction(self, request: Request) -> Iterator[Connection]:
        """:meth:`transaction`, continuing the one the sign-in check left open for this request
        (routes marked :func:`shares_sign_in_transaction`) when there is one."""
        uow = request.scope.get("state", {}).pop(_OPEN_UNIT, None)
        if not isinstance(uow, UnitOfWork):
            with self.transaction() as conn:
                yield conn
            return
        try:
            yield uow.connection
            uow.commit()
        finally:
            uow.__exit__(None, None, None)

    def service(self, conn: Connection) -> AccessService:
        return AccessService(conn, self.access, self.hashing, self.clock)


def runtime(request: Request) -> Runtime:
    value = request.app.state.runtime
    assert isinstance(value, Runtime)
    return value


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "")) or "-"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def audit_context(request: Request, principal: Principal | None = None) -> AuditContext:
    if principal is None:
        return AuditContext(None, None, request_id(request))
    return AuditContext.of(principal, request_id(request))
