"""Who may see a page: the JSON API's principal, permissions and step-up rules, with the
browser's answers: sign-in required -> 303 to ``/login``; step-up required -> 303 to
``/reauth``; lacking permission -> an HTML 403 page."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Request

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import runtime
from contactpoint.api.security import current_principal
from contactpoint.errors import PermissionDenied

SIGN_IN_PATH = "/login"
REAUTH_PATH = "/reauth"
_SAFE_NEXT = re.compile(r"^/[A-Za-z0-9/_.@-]{0,200}$")


class Redirect(Exception):
    """Answer with ``303 See Other`` to ``location`` (a path on this service)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: ``//host`` and schemes are refused)."""
    if value and _SAFE_NEXT.match(value) and not value.startswith("//"):
        return value
    return default


def page_user(request: Request) -> Principal:
    """Dependency for every page: a signed-in person, else a redirect to the sign-in page."""
    principal = current_principal(request)
    if principal is None or principal.kind != "user":
        raise Redirect(SIGN_IN_PATH)
    return principal


def recently_authenticated(request: Request, principal: Principal) -> bool:
    rt = runtime(request)
    if principal.authenticated_at is None:
        return False
    age = rt.clock() - principal.authenticated_at
    return age.total_seconds() <= rt.access.reauth_minutes * 60


class Page:
    """Dependency: a signed-in person holding every listed permission.

    With ``recent_auth`` the person must also have given password and code within the last
    few minutes (the same limit as the API's step-up); otherwise they are sent to the step-up
    page, which brings them back to ``back`` (default: this page; formatted with the path
    parameters, e.g. ``/users/{username}``).
    """

    def __init__(
        self, *permissions: Permission, recent_auth: bool = False, back: str | None = None
    ) -> None:
        self.permissions = frozenset(permissions)
        self.recent_auth = recent_auth
        self.back = back

    def __call__(self, request: Request) -> Principal:
        principal = page_user(request)
        if not self.permissions <= principal.permissions:
            raise PermissionDenied("you do not have permission to see this page")
        if self.recent_auth and not recently_authenticated(request, principal):
            back = self.back.format(**request.path_params) if self.back else request.url.path
            raise Redirect(f"{REAUTH_PATH}?next={quote(safe_next(back), safe='/')}")
        return principal

    def __repr__(self) -> str:
        return f"Page({', '.join(sorted(self.permissions))})"
