"""Council-team (and national administrator) pages: the users of their area.

Scope and rules are the access services' (``access/admin.py``: who may manage whom;
``Accounts``: create, change, suspend, each audited); the JSON API (``api/admin.py``) calls the
same ones. Creating users, lifting a suspension and changing vetting dates need a recent
sign-in (step-up), as in the API; suspending does not (stopping access should be quick).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.access.admin import (
    assignable_organisations,
    grantable_roles,
    managed_user,
    organisation_for_new_user,
    visible_users,
)
from contactpoint.access.models import Principal, User
from contactpoint.access.permissions import Permission, Role
from contactpoint.access.vetting import refusals
from contactpoint.api.runtime import audit_context, runtime
from contactpoint.errors import ContactPointError
from contactpoint.web import csrf
from contactpoint.web.forms import DateField, date_items
from contactpoint.web.guard import Page
from contactpoint.web.signin import authenticator_setup
from contactpoint.web.templating import FieldError, render

router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.ADMIN_USER_MANAGE)), Depends(csrf.verify)],
)
Manager = Annotated[Principal, Depends(Page(Permission.ADMIN_USER_MANAGE))]
FreshToCreate = Annotated[
    Principal, Depends(Page(Permission.ADMIN_USER_MANAGE, recent_auth=True, back="/users/new"))
]
FreshForUser = Annotated[
    Principal,
    Depends(Page(Permission.ADMIN_USER_MANAGE, recent_auth=True, back="/users/{username}")),
]
FreshForRole = Annotated[
    Principal,
    Depends(Page(Permission.ADMIN_USER_MANAGE, recent_auth=True, back="/users/{username}/role")),
]
FreshForDates = Annotated[
    Principal,
    Depends(Page(Permission.ADMIN_USER_MANAGE, recent_auth=True, back="/users/{username}/dates")),
]

DATES = (
    DateField("vetted_on", "The DBS check date", "DBS check date"),
    DateField("trained_on", "The training date", "Training date"),
    DateField(
        "agreement_signed_on",
        "The date the user agreement was signed",
        "Date the user agreement was signed",
    ),
)
ROLE_LABELS = {
    Role.PRACTITIONER: "Practitioner",
    Role.COUNCIL_TEAM: "Council team",
    Role.NATIONAL_ADMIN: "National administrator",
    Role.AUDITOR: "Auditor",
}


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _status(user: User, request: Request) -> tuple[str, str]:
    """A GOV.UK tag (text, colour class) for the user's standing."""
    now = runtime(request).clock()
    if user.suspended:
        return "Suspended", "govuk-tag--red"
    if user.locked_until is not None and user.locked_until > now:
        return "Locked", "govuk-tag--orange"
    if refusals(user.standing, now.date()):
        return "Cannot sign in", "govuk-tag--yellow"
    return "Active", "govuk-tag--green"


def _user_view(user: User, request: Request) -> dict[str, Any]:
    text, colour = _status(user, request)
    return {
        "user": user,
        "role": ROLE_LABELS[user.role],
        "status": text,
        "status_class": colour,
        "refusals": refusals(user.standing, runtime(request).clock().date()),
    }


@router.get("/users")
def list_users(request: Request, actor: Manager) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        users = [_user_view(u, request) for u in visible_users(rt.service(conn), actor)]
    return render(
        request, "users_list.html", {"title": "Users", "users": users}, principal=actor
    )


def _new_user_page(
    request: Request,
    actor: Principal,
    form: dict[str, Any],
    errors: list[FieldError],
    status: int = 200,
) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        orgs = assignable_organisations(rt.service(conn), actor)
    context = {
        "title": "Add a user",
        "errors": errors,
        "form": form,
        "organisations": orgs,
        "roles": [(role.value, ROLE_LABELS[role]) for role in grantable_roles(actor)],
        "dates": [(d, date_items(d.raw(form), d.name, errors)) for d in DATES],
    }
    return render(request, "users_new.html", context, status=status, principal=actor)


@router.get("/users/new")
def new_user_page(request: Request, actor: FreshToCreate) -> Response:
    return _new_user_page(request, actor, {}, [])


@router.post("/users")
async def create_user(request: Request, actor: FreshToCreate) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {k: str(v)[:1024] for k, v in raw.items() if isinstance(v, str)}
    errors: list[FieldError] = []
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not username:
        errors.append(FieldError("username", "Enter a username"))
    if not password:
        errors.append(FieldError("password", "Enter a password for the new user"))
    if not form.get("organisation"):
        errors.append(FieldError("organisation", "Select an organisation"))
    role_value = form.get("role", "")
    if role_value not in {r.value for r in grantable_roles(actor)}:
        errors.append(FieldError("role", "Select a role"))
    dates = {d.name: d.read(form, errors) for d in DATES}
    if errors:
        return _new_user_page(request, actor, form, errors, status=422)
    rt = runtime(request)
    try:
        with rt.transaction() as conn:
            service = rt.service(conn)
            org = organisation_for_new_user(service, actor, form["organisation"], Role(role_value))
            made = service.create_user(
                username,
                password,
                organisation_code=org.code,
                role=Role(role_value),
                ctx=audit_context(request, actor),
                vetted_on=dates["vetted_on"],
                trained_on=dates["trained_on"],
                agreement_signed_on=dates["agreement_signed_on"],
            )
    except ContactPointError as exc:
        if exc.http_status == 403:
            raise
        field = "password" if "password" in exc.message.lower() else "username"
        message = exc.message[:1].upper() + exc.message[1:]
        return _new_user_page(request, actor, form, [FieldError(field, message)], status=422)
    # Shown once, here only: the second factor the creator hands over with the password. The
    # user replaces both at their first sign-in (``must_enrol``; web/enrol.py).
    handover = authenticator_setup(made.totp_secret, made.user.username, rt.access.totp_issuer)
    context = {"title": made.user.username, "created": True, "handover": handover,
               **_user_view(made.user, request)}
    return render(request, "users_show.html", context, principal=actor)


@router.get("/users/{username}")
def user_page(request: Request, username: str, actor: Manager, reset: bool = False) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        user = managed_user(rt.service(conn), actor, username)
    context = {"title": user.username, "reset": reset, **_user_view(user, request)}
    return render(request, "users_show.html", context, principal=actor)


@router.post("/users/{username}/suspend")
def suspend(request: Request, username: str, actor: Manager) -> Response:
    return _set_suspended(request, username, actor, True)


@router.post("/users/{username}/unsuspend")
def unsuspend(request: Request, username: str, actor: FreshForUser) -> Response:
    return _set_suspended(request, username, actor, False)


def _set_suspended(request: Request, username: str, actor: Principal, value: bool) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = managed_user(service, actor, username)
        service.set_suspended(user, value, ctx=audit_context(request, actor))
    return _redirect(f"/users/{user.username}")


def _dates_page(
    request: Request, actor: Principal, user: User, form: dict[str, Any] | None,
    errors: list[FieldError], status: int = 200,
) -> Response:
    items = [
        (d, date_items(d.raw(form) if form is not None else getattr(user, d.name), d.name, errors))
        for d in DATES
    ]
    context = {"title": f"Change dates for {user.username}", "user": user, "dates": items,
               "errors": errors}
    return render(request, "users_dates.html", context, status=status, principal=actor)


@router.get("/users/{username}/dates")
def dates_page(request: Request, username: str, actor: FreshForDates) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        user = managed_user(rt.service(conn), actor, username)
    return _dates_page(request, actor, user, None, [])


@router.post("/users/{username}/dates")
async def change_dates(request: Request, username: str, actor: FreshForDates) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {k: str(v)[:64] for k, v in raw.items() if isinstance(v, str)}
    errors: list[FieldError] = []
    changes = {d.name: d.read(form, errors) for d in DATES}
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = managed_user(service, actor, username)
        if not errors:
            service.update_user(user, ctx=audit_context(request, actor), **changes)
    if errors:
        return _dates_page(request, actor, user, form, errors, status=422)
    return _redirect(f"/users/{user.username}")




@router.get("/users/{username}/role")
def role_page(request: Request, username: str, actor: FreshForRole) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        user = managed_user(rt.service(conn), actor, username)
    return _role_page(request, actor, user, [])


def _role_page(
    request: Request, actor: Principal, user: User, errors: list[FieldError], status: int = 200
) -> Response:
    roles = [(role.value, ROLE_LABELS[role]) for role in grantable_roles(actor)]
    context = {"title": f"Change the role of {user.username}", "user": user, "roles": roles,
               "errors": errors}
    return render(request, "users_role.html", context, status=status, principal=actor)


@router.post("/users/{username}/role")
async def change_role(request: Request, username: str, actor: FreshForRole) -> Response:
    """A role grant: audited as such, and it signs the user out everywhere (``update_user``)."""
    raw = await request.form()
    value = str(raw.get("role", ""))
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = managed_user(service, actor, username)
        if value not in {r.value for r in grantable_roles(actor)}:
            errors = [FieldError("role", "Select a role")]
            return _role_page(request, actor, user, errors, status=422)
        role = Role(value)
        managed_user(service, actor, username, role)  # may they grant this role to them?
        service.update_user(user, ctx=audit_context(request, actor), role=role)
    return _redirect(f"/users/{user.username}")


@router.post("/users/{username}/reset-2fa")
def reset_second_factor(request: Request, username: str, actor: FreshForUser) -> Response:
    """A new TOTP secret, never shown here: the user sets up their app at their next sign-in
    (the code step shows it until a code is used), and is signed out everywhere now."""
    rt = runtime(request)
    with rt.transaction() as conn:
        service = rt.service(conn)
        user = managed_user(service, actor, username)
        service.reset_totp(user, ctx=audit_context(request, actor))
    return _redirect(f"/users/{user.username}?reset=true")
