"""Edge middleware (pure ASGI): request id, security headers, access log, origin check."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contactpoint.api.bearer import bearer_from_header
from contactpoint.api.problems import problem
from contactpoint.api.runtime import release_open_unit

log = logging.getLogger("contactpoint.access_log")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# GOV.UK Frontend's page template has one inline script (it adds ``js-enabled`` to the body);
# the CSP allows it by its hash, as GOV.UK documents (checked against the rendered page in
# tests/functional/test_web_pages.py). No other inline script is allowed.
GOVUK_TEMPLATE_SCRIPT_HASH = "'sha256-GUQ5ad8JK5KmEWmROf3LZd9ge94daqNvd8xy9YS1iDw='"

SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": (
        "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'; img-src 'self' data:; "
        f"script-src 'self' {GOVUK_TEMPLATE_SCRIPT_HASH}; style-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class EdgeMiddleware:
    """Gives every request an id, every response the security headers and ``no-store``, and
    writes one JSON access-log line per request: method, route template, status, duration.
    Never the query string, never a body, never a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        status_sent = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                status_sent = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers["Cache-Control"] = "no-store"
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Logged by type only: messages can carry SQL parameters, i.e. personal data.
            log.error(
                "unhandled error",
                extra={"request_id": request_id, "error_type": type(exc).__name__},
            )
            if status_sent:
                raise
            response = problem(500, "internal_error", "something went wrong")
            await response(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "route": getattr(route, "path", "unmatched"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            release_open_unit(scope)  # a refused request's sign-in transaction, if left open


class OriginCheckMiddleware:
    """CSRF defence for cookie-authenticated requests.

    A state-changing request (not GET/HEAD/OPTIONS) without a bearer token is refused (403)
    when the browser says it is cross-site (``Sec-Fetch-Site`` other than ``same-origin`` or
    ``none``) or when its ``Origin`` is not ours. Bearer-token requests carry no ambient
    credentials and are exempt. The session cookie is also ``SameSite=Strict``.
    """

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins if o}

    def _own_origin(self, scope: Scope, headers: Headers) -> str:
        host = headers.get("host", "")
        return f"{scope.get('scheme', 'https')}://{host}".lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET") in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if bearer_from_header(headers.get("authorization", "")) is not None:
            await self.app(scope, receive, send)
            return
        site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        allowed = self.allowed or {self._own_origin(scope, headers)}
        if site is not None and site.lower() not in ("same-origin", "none"):
            response = problem(403, "cross_site_request", "cross-site request refused")
            await response(scope, receive, send)
            return
        # A browser sends ``Origin: null`` on our own form posts, because our Referrer-Policy
        # is no-referrer (Fetch: serialising a request origin); it is ours when the browser
        # also says same-origin.
        own_null = origin == "null" and site is not None and site.lower() == "same-origin"
        if origin is not None and not own_null and origin.rstrip("/").lower() not in allowed:
            response = problem(403, "cross_site_request", "request from a foreign origin refused")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
