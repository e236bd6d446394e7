"""Permissions for named users (``council/grants.py``, as ``/api/council/grants``): a council
team lists the grants held in its area, grants ``record:shield:override`` to a named user of
its area and revokes it, both with step-up; the rule is ``council/policy.grant_refusal``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import GrantablePermission, Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.council import grants
from contactpoint.errors import ContactPointError
from contactpoint.web.council import Checked, form_of, redirect
from contactpoint.web.display import moment
from contactpoint.web.guard import Page, page_user
from contactpoint.web.templating import FieldError, render

# Signed in first, then the route's permission, then (forms) the CSRF token: a refusal for
# want of permission is never hidden behind a token error.
router = APIRouter(include_in_schema=False, dependencies=[Depends(page_user)])

Reader = Annotated[Principal, Depends(Page(Permission.ADMIN_GRANT_MANAGE))]
FreshToGrant = Annotated[Principal, Depends(Page(
    Permission.ADMIN_GRANT_MANAGE, recent_auth=True, back="/council/grants/new"))]
FreshToRevoke = Annotated[Principal, Depends(Page(
    Permission.ADMIN_GRANT_MANAGE, recent_auth=True, back="/council/grants"))]

LABELS = {
    GrantablePermission.RECORD_SHIELD_OVERRIDE:
        "See a shielded child's hidden details (override a shield; each use opens an "
        "investigation)",
}
DONE = {"granted": "Permission granted.", "revoked": "Permission revoked."}


def _view(g: grants.Grant) -> dict[str, Any]:
    return {"grant": g, "granted_at": moment(g.granted_at), "revoked_at": moment(g.revoked_at),
            "label": LABELS.get(GrantablePermission(g.permission), g.permission)}


@router.get("/council/grants")
def grants_page(request: Request, actor: Reader, done: str = "") -> Response:
    with runtime(request).engine.connect() as conn:
        found = [_view(g) for g in reversed(grants.list_for_area(conn, actor))]
    context = {"title": "Permissions for named users", "grants": found, "done": DONE.get(done)}
    return render(request, "grants_list.html", context, principal=actor)


def _new_page(request: Request, actor: Principal, form: dict[str, str],
              errors: list[FieldError], status: int = 200) -> Response:
    context = {"title": "Grant a permission", "form": form, "errors": errors,
               "permissions": [(p.value, label) for p, label in LABELS.items()]}
    return render(request, "grants_new.html", context, status=status, principal=actor)


@router.get("/council/grants/new")
def new_grant_page(request: Request, actor: FreshToGrant) -> Response:
    return _new_page(request, actor, {}, [])


@router.post("/council/grants")
async def add_grant(request: Request, actor: FreshToGrant,
                    _: Checked) -> Response:
    form = await form_of(request)
    errors: list[FieldError] = []
    username = form.get("username", "").strip()[:64]
    reason = form.get("reason", "").strip()
    value = form.get("permission", "")
    if not username:
        errors.append(FieldError("username", "Enter the username of the person"))
    if value not in {p.value for p in GrantablePermission}:
        errors.append(FieldError("permission", "Select the permission to grant"))
    if not reason:
        errors.append(FieldError("reason", "Enter why they need this permission"))
    status = 422
    if not errors:
        rt = runtime(request)
        try:
            with rt.transaction() as conn:
                grants.grant(conn, actor, username, GrantablePermission(value), reason=reason,
                             now=rt.clock(), request_id=request_id(request))
        except ContactPointError as exc:
            if exc.http_status not in (403, 409, 422):
                raise
            status = exc.http_status  # 403 as the API answers: not a user of your area
            message = "You cannot grant permissions to this user" if status == 403 else (
                exc.message[:1].upper() + exc.message[1:])
            errors.append(FieldError("username", message))
    if errors:
        return _new_page(request, actor, form, errors, status=status)
    return redirect("/council/grants?done=granted")


@router.post("/council/grants/{grant_id}/revoke")
def revoke_grant(request: Request, grant_id: int, actor: FreshToRevoke,
                 _: Checked) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        grants.revoke(conn, actor, grant_id, now=rt.clock(), request_id=request_id(request))
    return redirect("/council/grants?done=revoked")
