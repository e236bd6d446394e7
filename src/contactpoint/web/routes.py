"""``install(app)``: the pages, their static files and their error pages."""

from __future__ import annotations

from fastapi import FastAPI

from contactpoint.web import (
    assets,
    auditor,
    contact,
    council,
    enrol,
    errors,
    grants,
    home,
    involvements,
    national,
    override,
    record,
    review,
    search,
    shields,
    signin,
    users,
)

# Sign-in steps a *pending* session (password accepted, code not yet) or an *enrolling* one
# (handed-over factors accepted, new ones not yet) may reach; every other page needs a full
# session. Reviewed with app.PUBLIC_ROUTES.
SIGN_IN_STEP_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", signin.CODE_PATH),
        ("POST", signin.CODE_PATH),
        ("GET", signin.ENROL_PATH),
        ("POST", signin.ENROL_PATH),
    }
)
PUBLIC_PAGES: frozenset[tuple[str, str]] = frozenset({("GET", "/login"), ("POST", "/login")})
PUBLIC_MOUNTS: frozenset[str] = frozenset({assets.GOVUK_MOUNT, assets.APP_MOUNT})


def install(app: FastAPI) -> None:
    """Call after the JSON error handlers are installed (``api.problems.install``)."""
    errors.install(app)
    for module in (signin, enrol, home, auditor, users, national):
        app.include_router(module.router)
    for module in (council, shields, review, grants):  # the council team's pages
        app.include_router(module.router)
    for module in (search, record, involvements, contact, override):  # the practitioner's
        app.include_router(module.router)
    assets.mount(app)
