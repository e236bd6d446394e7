"""Errors at the JSON edge: RFC 9457 ``application/problem+json``, never a stack trace.

The body depends only on the error (not on the request), so two refusals of the same kind
cannot be told apart by their bodies; the request id travels in the ``X-Request-ID`` header.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from contactpoint.access.clients import OAuthError
from contactpoint.api.runtime import audit_context, runtime
from contactpoint.errors import ContactPointError, PermissionDenied

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("contactpoint.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "throttled",
}


class Problem(BaseModel):
    """RFC 9457 problem details, as every error answer carries them."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    error: str | None = None  # RFC 6749 members, on /oauth/token only
    error_description: str | None = None


_PROBLEM_SCHEMA = Problem.model_json_schema()
# Documented on every operation (OpenAPI): the error answers any route can give.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": code.replace("_", " "),
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
    }
    for status, code in {
        400: "bad_request", 401: "authentication_failed", 403: "permission_denied",
        404: "not_found", 405: "method_not_allowed", 409: "conflict",
        413: "too_large", 415: "unsupported_media_type", 422: "validation_failed",
        423: "account_locked", 429: "throttled", 503: "not_configured",
    }.items()
}


def problem(
    status: int, code: str, detail: str, extra: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, object] = {
        "type": f"urn:contactpoint:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        body.update(extra)
    headers = {"WWW-Authenticate": 'Bearer realm="contactpoint"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _audit_refusal(request: Request, exc: ContactPointError) -> None:
    """Every refusal of an authenticated caller leaves an audit entry (review finding 7), in
    a transaction of its own: the request's own transaction has rolled back."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    route = getattr(request.scope.get("route"), "path", "unmatched")
    username = request.path_params.get("username")
    reason = exc.reason if isinstance(exc, PermissionDenied) else exc.message
    rt = runtime(request)
    with rt.transaction() as conn:
        rt.service(conn).record_refusal(
            audit_context(request, principal),
            method=request.method,
            route=str(route),
            code=exc.code,
            reason=reason,
            subject=f"user:{username}"[:128] if isinstance(username, str) else None,
        )


def _contactpoint_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContactPointError)
    if exc.http_status in (401, 403) and not isinstance(exc, OAuthError):
        _audit_refusal(request, exc)
    extra = None
    if isinstance(exc, OAuthError):  # RFC 6749 members for OAuth clients
        extra = {"error": exc.error, "error_description": exc.message}
    if exc.http_status >= 500:
        log.error("service error", extra={"code": exc.code})
    return problem(exc.http_status, exc.code, exc.message, extra)


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, code.replace("_", " "))


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Name the fields only: the submitted values (passwords!) are never echoed.
    places = sorted(
        {".".join(str(p) for p in err.get("loc", ())) for err in exc.errors()}
    )
    return problem(422, "validation_failed", "invalid request: " + ", ".join(places))


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", extra={"error_type": type(exc).__name__})
    return problem(500, "internal_error", "something went wrong; the request id is in the headers")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ContactPointError, _contactpoint_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
