"""What the routers need, built once by ``create_app`` and kept on ``app.state.runtime``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Connection, Engine

from contactpoint.access.config import AccessSettings, Clock
from contactpoint.access.models import AuditContext, Principal
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.service import AccessService
from contactpoint.db.uow import UnitOfWork
from contactpoint.settings import Settings


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
