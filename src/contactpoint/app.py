"""``create_app(settings)``: the one place that wires the service together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from contactpoint.access.config import AccessSettings, Clock, load_access_settings, system_clock
from contactpoint.access.passwords import PasswordHashing
from contactpoint.api import (
    admin,
    auth,
    children,
    council,
    health,
    involvements,
    logs,
    oauth,
    orgcodes,
    problems,
    review,
)
from contactpoint.api.metrics import MetricsMiddleware
from contactpoint.api.middleware import EdgeMiddleware, OriginCheckMiddleware
from contactpoint.api.runtime import Runtime
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.timer import CheckpointTimer
from contactpoint.db.engine import make_engine
from contactpoint.settings import Settings, load_settings
from contactpoint.web import routes as web_routes

# Routes anyone may call without signing in. Reviewed with every change (docs/security/access.md);
# tests/functional/test_api_routes.py proves every other route refuses anonymous callers.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/enrol/start"),
        ("POST", "/api/auth/enrol/finish"),
        ("POST", "/oauth/token"),
        ("GET", "/.well-known/smart-configuration"),
        ("GET", "/openapi.json"),
    }
) | web_routes.PUBLIC_PAGES
# Mounted sub-applications anyone may reach: static assets only (GOV.UK Frontend and ours).
PUBLIC_MOUNTS: frozenset[str] = web_routes.PUBLIC_MOUNTS


def _lifespan(
    checkpoints: AuditConfig | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timer = None
        if checkpoints is not None:  # signed checkpoints on a schedule while serving
            timer = CheckpointTimer(app.state.runtime.engine, checkpoints)
            timer.start()
        try:
            yield
        finally:
            if timer is not None:
                timer.stop()

    return lifespan


SERVER_PING_AFTER_IDLE = 2.0  # seconds in the pool before a connection is pinged again


def _engine(settings: Settings) -> Engine:
    """The server's engine: on PostgreSQL a pool as large as a process's concurrent requests
    (``db_pool_size``), so connections are kept, not opened per request. Its statements are
    prepared on the server from their first execution (psycopg's ``prepare_threshold`` 0, not
    its default 5: a connection's first executions are otherwise parsed and planned each
    time), and a connection is pinged at check-out only after it sat idle in the pool
    (:data:`SERVER_PING_AFTER_IDLE`), not at every request."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        return make_engine(url)
    return make_engine(url, pool_size=settings.db_pool_size, max_overflow=10,
                       ping_after_idle=SERVER_PING_AFTER_IDLE,
                       connect_args={"prepare_threshold": 0})


def create_app(
    settings: Settings,
    *,
    access_settings: AccessSettings | None = None,
    engine: Engine | None = None,
    clock: Clock | None = None,
    checkpoints: AuditConfig | None = None,
) -> FastAPI:
    """The application; with ``checkpoints``, it signs audit checkpoints on their schedule
    while it runs (``contactpoint serve`` always passes them)."""
    access = access_settings or load_access_settings()
    app = FastAPI(
        title="Contactpoint",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=_lifespan(checkpoints),
        responses=problems.PROBLEM_RESPONSES,
    )
    app.state.runtime = Runtime(
        settings=settings,
        access=access,
        engine=engine or _engine(settings),
        hashing=PasswordHashing(access.hash_parameters),
        clock=clock or system_clock,
    )
    problems.install(app)
    for public in (health.public_router, auth.public_router, oauth.public_router):
        app.include_router(public)
    # Every other router carries an authentication dependency of its own.
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(children.router)
    app.include_router(review.router)
    app.include_router(involvements.router)
    app.include_router(orgcodes.router)
    web_routes.install(app)  # pages: GET/POST /login are public, the rest need a session
    app.include_router(council.router)
    origins = [access.public_origin] if access.public_origin else []
    app.add_middleware(OriginCheckMiddleware, allowed_origins=origins)
    app.add_middleware(EdgeMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost: times everything the client waits for
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``contactpoint serve`` (uvicorn ``factory=True``): settings from the
    environment, JSON logs on stderr."""
    logs.configure()
    settings = load_settings()
    return create_app(settings, checkpoints=AuditConfig.from_settings(settings))
