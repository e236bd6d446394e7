"""``create_app(settings)``: the one place that wires the service together."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from contactpoint.access.config import AccessSettings, Clock, load_access_settings, system_clock
from contactpoint.access.passwords import PasswordHashing
from contactpoint.api import admin, auth, council, health, logs, oauth, problems, review
from contactpoint.api.middleware import EdgeMiddleware, OriginCheckMiddleware
from contactpoint.api.runtime import Runtime
from contactpoint.db.engine import make_engine
from contactpoint.settings import Settings, load_settings

# Routes anyone may call without signing in. Reviewed with every change (docs/security/access.md);
# tests/functional/test_api_routes.py proves every other route refuses anonymous callers.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("POST", "/api/auth/login"),
        ("POST", "/oauth/token"),
        ("GET", "/.well-known/smart-configuration"),
        ("GET", "/openapi.json"),
    }
)
# Mounted sub-applications anyone may reach (static assets only; none yet).
PUBLIC_MOUNTS: frozenset[str] = frozenset()


def create_app(
    settings: Settings,
    *,
    access_settings: AccessSettings | None = None,
    engine: Engine | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    access = access_settings or load_access_settings()
    app = FastAPI(
        title="Contactpoint",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.runtime = Runtime(
        settings=settings,
        access=access,
        engine=engine or make_engine(settings.effective_database_url),
        hashing=PasswordHashing(access.hash_parameters),
        clock=clock or system_clock,
    )
    problems.install(app)
    for public in (health.public_router, auth.public_router, oauth.public_router):
        app.include_router(public)
    # Every other router carries an authentication dependency of its own.
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(review.router)
    app.include_router(council.router)
    origins = [access.public_origin] if access.public_origin else []
    app.add_middleware(OriginCheckMiddleware, allowed_origins=origins)
    app.add_middleware(EdgeMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``contactpoint serve`` (uvicorn ``factory=True``): settings from the
    environment, JSON logs on stderr."""
    logs.configure()
    return create_app(load_settings())
