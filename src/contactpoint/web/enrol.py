"""First sign-in of an account someone else made (review finding 5), the browser's way.

After the handed-over password and code (``web/signin.py``) the browser holds an *enrolling*
session, which signs nobody in and reaches only this page. Here the person chooses a new
password and sets up a **new** authenticator secret (made by ``enrolment.begin``); the rules
are ``access/enrolment.py``'s (``finish``), as for ``POST /api/auth/enrol/finish``. On success
both factors are replaced and the session becomes a full one with a new id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.access import enrolment, passwords, sessions
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.service import SIGN_IN_FAILED_MESSAGE
from contactpoint.api.auth import clear_session_cookie, set_session_cookie
from contactpoint.api.runtime import audit_context, client_address, runtime
from contactpoint.errors import AuthenticationFailed, ContactPointError, ValidationFailed
from contactpoint.web import csrf
from contactpoint.web.signin import (
    CODE_PATH,
    ENROL_PATH,
    authenticator_setup,
    failure_errors,
    has_session_cookie,
    sign_in_form,
)
from contactpoint.web.templating import FieldError, render

router = APIRouter(include_in_schema=False)

TITLE = "Choose a new password and set up your authenticator app"
Text = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=16)]


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _enrol_page(
    request: Request, errors: list[FieldError] | None = None, status: int = 200
) -> Response:
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    with rt.transaction() as conn:
        session = sessions.load(conn, cookie, now=rt.clock(), settings=rt.access)
        if session is not None and session.authenticated:
            return _redirect("/")
        if session is None or not session.enrolling:
            return _redirect(CODE_PATH)
        service = rt.service(conn)
        user = service.user_by_id(session.user_id)
        secret = enrolment.pending_secret(service, user.id)
    if secret is None:  # enrolled meanwhile (another tab): sign in with the new factors
        return _redirect(CODE_PATH)
    context = {
        "title": TITLE,
        "username": user.username,
        "min_length": passwords.MIN_LENGTH,
        "setup": authenticator_setup(secret, user.username, rt.access.totp_issuer),
        "errors": errors or [],
    }
    return render(request, "enrol.html", context, status=status, principal=None)


@router.get(ENROL_PATH, dependencies=[Depends(has_session_cookie)])
def enrol_page(request: Request) -> Response:
    return _enrol_page(request)


@router.post(ENROL_PATH, dependencies=[Depends(has_session_cookie), Depends(csrf.verify)])
def enrol(
    request: Request,
    password: Text = "",
    new_password: Text = "",
    confirm_password: Text = "",
    code: Code = "",
) -> Response:
    """Replace both factors (``enrolment.finish``); any wrong factor gets the one answer."""
    errors = []
    if not password:
        errors.append(FieldError("password", "Enter the password you were given"))
    if not new_password:
        errors.append(FieldError("new_password", "Enter a new password"))
    elif confirm_password != new_password:
        errors.append(FieldError("confirm_password", "Enter the same new password twice"))
    otp = code.replace(" ", "").strip()
    if not otp:
        errors.append(FieldError("code", "Enter the 6-digit security code from your app"))
    if errors:  # nothing tried, nothing counted
        return _enrol_page(request, errors, 422)
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    refused: ContactPointError | None = None
    with rt.transaction() as conn:
        session = sessions.load(conn, cookie, now=rt.clock(), settings=rt.access)
        if session is None or not session.enrolling:
            return _redirect(CODE_PATH)
        service = rt.service(conn)
        user = service.user_by_id(session.user_id)
        try:
            enrolment.finish(
                service, user.username, password, new_password, otp,
                address=client_address(request), ctx=audit_context(request),
            )
        except (AuthenticationFailed, ValidationFailed) as exc:
            refused = exc  # counted and audited (a wrong factor); commit, then ask again
        except ContactPointError as exc:  # locked, throttled, not cleared: start again
            refused = exc
            sessions.end(conn, cookie, now=rt.clock())
        else:
            token = sessions.promote(conn, session, now=rt.clock())
    if isinstance(refused, AuthenticationFailed):
        message = SIGN_IN_FAILED_MESSAGE[:1].upper() + SIGN_IN_FAILED_MESSAGE[1:]
        return _enrol_page(request, [FieldError("password", message)], refused.http_status)
    if isinstance(refused, ValidationFailed):
        return _enrol_page(request, failure_errors(refused, "new_password"), 422)
    if refused is not None:
        csrf.session_ending(request)
        response = sign_in_form(
            request, status=refused.http_status, errors=failure_errors(refused, "username")
        )
        clear_session_cookie(response)
        return response
    response = _redirect("/")
    set_session_cookie(response, token)
    return response
