"""Sign-in in two steps (password, then code), first-sign-in set-up, step-up, sign-out.

An account made by someone else (``must_enrol``) goes on from the code step to the
enrolment page (``web/enrol.py``) instead of being signed in.

The rules are the access service's (``AccessService.check_password``, ``check_code``,
``complete_sign_in``, ``step_up``, ``sign_out``); these routes only carry them to the browser.
A wrong password is not revealed at the first step: the browser goes on to the code step with a
session id that matches nothing, and the code step answers exactly as it does to a wrong code.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.access import enrolment, sessions, totp
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.models import Principal
from contactpoint.access.service import SIGN_IN_FAILED_MESSAGE
from contactpoint.api.auth import clear_session_cookie, set_session_cookie
from contactpoint.api.runtime import audit_context, client_address, runtime
from contactpoint.api.security import current_principal
from contactpoint.errors import AuthenticationFailed, ContactPointError
from contactpoint.web import csrf
from contactpoint.web.guard import SIGN_IN_PATH, Redirect, page_user, safe_next
from contactpoint.web.templating import FieldError, render

CODE_PATH = "/login/code"
ENROL_PATH = "/login/enrol"  # web/enrol.py
router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=16)]
SignedIn = Annotated[Principal, Depends(page_user)]


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def sign_in_form(
    request: Request, *, status: int = 200, errors: list[FieldError] | None = None, **extra: object
) -> Response:
    context: dict[str, object] = {"title": "Sign in", "errors": errors or [], **extra}
    return render(request, "login.html", context, status=status, principal=None)


def failure_errors(exc: ContactPointError, field: str) -> list[FieldError]:
    message = exc.message[:1].upper() + exc.message[1:]
    return [FieldError(field, message)]


@router.get("/login")
def sign_in_page(
    request: Request, timed_out: bool = False, signed_out: bool = False
) -> Response:
    if current_principal(request) is not None:
        return _redirect("/")
    return sign_in_form(request, timed_out=timed_out, signed_out=signed_out)


@router.post("/login", dependencies=[Depends(csrf.verify)])
def sign_in(request: Request, username: Text = "", password: Text = "") -> Response:
    """First step: the password. Throttle and lockout answer here; a wrong password does not."""
    errors = []
    if not username.strip():
        errors.append(FieldError("username", "Enter your username"))
    if not password:
        errors.append(FieldError("password", "Enter your password"))
    if errors:
        return sign_in_form(request, status=422, errors=errors, username=username)
    rt = runtime(request)
    refused: ContactPointError | None = None
    with rt.transaction() as conn:
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            sessions.end(conn, old, now=rt.clock())
        try:
            user = rt.service(conn).check_password(
                username, password, address=client_address(request), ctx=audit_context(request)
            )
        except AuthenticationFailed:
            token = secrets.token_urlsafe(sessions.TOKEN_BYTES)  # matches no session
        except ContactPointError as exc:  # locked or throttled: counted and audited; commit
            refused = exc
        else:
            token = sessions.create(conn, user.id, authenticated=False, now=rt.clock())
    if refused is not None:
        csrf.session_ending(request)
        response = sign_in_form(
            request, status=refused.http_status, errors=failure_errors(refused, "username"),
            username=username,
        )
        clear_session_cookie(response)
        return response
    response = _redirect(CODE_PATH)
    set_session_cookie(response, token)
    return response


def has_session_cookie(request: Request) -> None:
    if not request.cookies.get(SESSION_COOKIE):
        raise Redirect(SIGN_IN_PATH)


def authenticator_setup(secret: str, username: str, issuer: str) -> dict[str, str]:
    """A secret as a QR code (inline SVG, no script) and as text in groups of four."""
    qr = segno.make(totp.provisioning_uri(secret, username, issuer), error="m")
    return {
        "qr_svg": qr.svg_inline(scale=5, title="QR code for your authenticator app"),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


@router.get(CODE_PATH, dependencies=[Depends(has_session_cookie)])
def code_page(request: Request) -> Response:
    """Second step; on a first sign-in, the authenticator app is set up here (QR code)."""
    return _code_page(request, [])


def _code_page(request: Request, errors: list[FieldError], status: int = 200) -> Response:
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    enrol: dict[str, str] | None = None
    with rt.transaction() as conn:
        session = sessions.load(conn, cookie, now=rt.clock(), settings=rt.access)
        if session is not None and session.authenticated:
            return _redirect("/")
        if session is not None and session.enrolling:
            return _redirect(ENROL_PATH)
        if session is not None:
            service = rt.service(conn)
            user = service.user_by_id(session.user_id)
            # An account made by someone else has its key from them, and replaces it at the
            # enrolment step: the key is never shown to whoever knows only the password.
            secret = None if user.must_enrol else totp.pending_enrolment_secret(
                conn, session.user_id, service.box
            )
            if secret is not None:
                enrol = authenticator_setup(secret, user.username, rt.access.totp_issuer)
    title = "Set up your authenticator app" if enrol else "Enter your security code"
    context = {"title": title, "enrol": enrol, "errors": errors}
    return render(request, "code.html", context, status=status, principal=None)


@router.post(
    CODE_PATH, dependencies=[Depends(has_session_cookie), Depends(csrf.verify)]
)
def enter_code(request: Request, code: Code = "") -> Response:
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    otp = code.replace(" ", "").strip()
    if not otp:  # nothing tried, nothing counted
        return _code_page(request, [FieldError("code", "Enter the 6-digit security code")], 422)
    refused: ContactPointError | None = None
    with rt.transaction() as conn:
        session = sessions.load(conn, cookie, now=rt.clock(), settings=rt.access)
        if session is not None and session.authenticated:
            return _redirect("/")
        if session is not None and session.enrolling:
            return _redirect(ENROL_PATH)
        if session is None:
            refused = AuthenticationFailed(SIGN_IN_FAILED_MESSAGE)
        else:
            service = rt.service(conn)
            user = service.user_by_id(session.user_id)
            ctx = audit_context(request)
            try:
                service.check_code(user, otp, address=client_address(request), ctx=ctx)
                if user.must_enrol:  # made by someone else: replace both factors first
                    enrolment.begin(service, user, ctx=ctx)
                else:
                    service.complete_sign_in(user, ctx=ctx)
            except ContactPointError as exc:
                refused = exc
                sessions.end(conn, cookie, now=rt.clock())
            else:
                if user.must_enrol:
                    token = sessions.promote_to_enrolling(conn, session, now=rt.clock())
                    next_page = ENROL_PATH
                else:
                    token = sessions.promote(conn, session, now=rt.clock())
                    next_page = "/"
    if refused is not None:
        csrf.session_ending(request)
        response = sign_in_form(
            request, status=refused.http_status, errors=failure_errors(refused, "username")
        )
        clear_session_cookie(response)
        return response
    response = _redirect(next_page)
    set_session_cookie(response, token)
    return response


@router.post("/logout", dependencies=[Depends(page_user), Depends(csrf.verify)])
def sign_out(request: Request, principal: SignedIn) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        rt.service(conn).sign_out(
            request.cookies.get(SESSION_COOKIE),
            ctx=audit_context(request, principal),
            subject=principal.actor,
        )
    response = _redirect(f"{SIGN_IN_PATH}?signed_out=true")
    clear_session_cookie(response)
    return response


@router.get("/reauth")
def step_up_page(request: Request, principal: SignedIn, next: str = "/") -> Response:
    return render(
        request,
        "reauth.html",
        {"title": "Confirm it is you", "next": safe_next(next)},
        principal=principal,
    )


@router.post("/reauth", dependencies=[Depends(page_user), Depends(csrf.verify)])
def step_up(
    request: Request,
    principal: SignedIn,
    password: Text = "",
    code: Code = "",
    next: Annotated[str, Form(max_length=256)] = "/",
) -> Response:
    """Password and code again: a new session id and a fresh authentication time."""
    back = safe_next(next)
    errors = []
    if not password:
        errors.append(FieldError("password", "Enter your password"))
    if not code.strip():
        errors.append(FieldError("code", "Enter the security code from your authenticator app"))
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    refused: ContactPointError | None = None
    if not errors:
        with rt.transaction() as conn:
            service = rt.service(conn)
            user = service.user_by_id(principal.id)
            try:
                service.step_up(
                    user,
                    password,
                    code.replace(" ", "").strip(),
                    address=client_address(request),
                    ctx=audit_context(request, principal),
                )
            except ContactPointError as exc:
                refused = exc
            else:
                session = sessions.load(conn, cookie, now=rt.clock(), settings=rt.access)
                if session is None:
                    raise Redirect(SIGN_IN_PATH)
                token = sessions.promote(conn, session, now=rt.clock())
        if refused is not None:
            errors = failure_errors(refused, "password")
    if errors:
        status = refused.http_status if refused is not None else 422
        return render(
            request,
            "reauth.html",
            {"title": "Confirm it is you", "next": back, "errors": errors},
            status=status,
            principal=principal,
        )
    response = _redirect(back)
    set_session_cookie(response, token)
    return response


@router.post("/session/keep-alive", dependencies=[Depends(page_user), Depends(csrf.verify)])
def keep_alive(
    _principal: SignedIn, next: Annotated[str, Form(max_length=256)] = "/"
) -> Response:
    """'Stay signed in': loading the session (``page_user``) has reset the idle timer."""
    return _redirect(safe_next(next))
