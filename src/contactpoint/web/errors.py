"""Errors on pages: the same error tree as the JSON API, answered as GOV.UK error pages.

The JSON handlers (``api/problems.py``) stay in charge of machine paths; this wraps them so that
a page request gets HTML and a redirect where the browser should go next.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from contactpoint.errors import ContactPointError
from contactpoint.web.guard import Redirect
from contactpoint.web.templating import render

MACHINE_PREFIXES = ("/api/", "/fhir", "/oauth/", "/.well-known/", "/openapi.json", "/health")

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]

_TITLES = {
    400: "There is a problem with the request",
    403: "You cannot do this",
    404: "Page not found",
    405: "Page not found",
    422: "There is a problem with the request",
    423: "Your account is locked",
    429: "Too many attempts",
}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES)


def error_page(request: Request, status: int, message: str) -> Response:
    title = _TITLES.get(status, "Sorry, there is a problem with the service")
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def _redirect(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.location, status_code=303)


def install(app: FastAPI) -> None:
    """Call after ``problems.install``: page requests get HTML, machine paths keep JSON."""
    app.add_exception_handler(Redirect, _redirect)

    def wrap(exc_type: type[Exception], page: Callable[[Request, Exception], Response]) -> None:
        machine: Handler = app.exception_handlers[exc_type]

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page(request):
                return page(request, exc)
            answer = machine(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(exc_type, handler)

    def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ContactPointError)
        status = exc.http_status
        message = exc.message if status < 500 else "Try again later."
        return error_page(request, status, message)

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_page(request, exc.status_code, "Check the address and try again.")

    def validation_error(request: Request, _exc: Exception) -> Response:
        return error_page(request, 422, "Go back and check the form, then try again.")

    wrap(ContactPointError, service_error)
    wrap(StarletteHTTPException, http_error)
    wrap(RequestValidationError, validation_error)
