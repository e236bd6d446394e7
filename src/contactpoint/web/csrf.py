"""CSRF synchroniser tokens for every HTML form, bound to the browser's session.

The token is an HMAC keyed by the session cookie's value (a 256-bit secret the page's script
cannot read: the cookie is HttpOnly), so it needs no storage and changes whenever the session
id does. Before sign-in, a random *pre-session* cookie plays the session's part, so the sign-in
form is protected too (login CSRF). This sits behind ``OriginCheckMiddleware`` and the
``SameSite=Strict`` cookie: three independent defences.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from contactpoint.access.config import SESSION_COOKIE
from contactpoint.errors import PermissionDenied

FIELD = "csrf_token"
PRESESSION_COOKIE = "__Host-contactpoint-presession"
_LABEL = b"contactpoint-csrf-v1"


class CsrfRefused(PermissionDenied):
    code = "csrf_refused"


def _token(secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), _LABEL, hashlib.sha256).hexdigest()


def _secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)


def session_ending(request: Request) -> None:
    """This response clears the session cookie: bind its forms to the pre-session instead."""
    request.state.session_ending = True


def token_for(request: Request) -> str:
    """The token this request's forms carry; may start a pre-session (see :func:`persist`)."""
    if getattr(request.state, "session_ending", False):
        secret = request.cookies.get(PRESESSION_COOKIE)
    else:
        secret = _secret(request)
    if secret is None:
        secret = getattr(request.state, "new_presession", None)
        if secret is None:
            secret = secrets.token_urlsafe(32)
            request.state.new_presession = secret
    return _token(secret)


def persist(request: Request, response: Response) -> None:
    """Send the pre-session cookie a rendered form was bound to, if one was started."""
    secret = getattr(request.state, "new_presession", None)
    if secret is not None:
        response.set_cookie(
            PRESESSION_COOKIE, secret, secure=True, httponly=True, samesite="strict", path="/"
        )


async def verify(request: Request) -> None:
    """Dependency for every state-changing form: refuse (403) without the right token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    secret = _secret(request)
    form = await request.form()
    sent = form.get(FIELD)
    if secret is None or not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode("utf-8"), _token(secret).encode("utf-8")
    ):
        raise CsrfRefused("this form was not sent from this service, or it has expired")
