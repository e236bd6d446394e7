"""Shield and unshield a child of your council, and its shield history.

The same service as ``POST /api/children/{id}/shield|unshield`` (``council/shields.py``): the
responsible council's team only, a reason, a review date within the year, step-up (password
and code within the last few minutes), each change audited. Another council's child and an
unknown id get the API's one refusal (404, "no such child").
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.council import shields
from contactpoint.errors import ContactPointError
from contactpoint.web.council import Checked, form_error, form_of, redirect
from contactpoint.web.display import day, moment
from contactpoint.web.forms import DateField, date_items
from contactpoint.web.guard import Page, page_user
from contactpoint.web.templating import FieldError, render

# Signed in first, then the route's permission, then (forms) the CSRF token: a refusal for
# want of permission is never hidden behind a token error.
router = APIRouter(include_in_schema=False, dependencies=[Depends(page_user)])

Reader = Annotated[Principal, Depends(Page(Permission.RECORD_SHIELD_SET))]
FreshToShield = Annotated[Principal, Depends(Page(
    Permission.RECORD_SHIELD_SET, recent_auth=True, back="/children/{child_id}/shield"))]
FreshToUnshield = Annotated[Principal, Depends(Page(
    Permission.RECORD_SHIELD_SET, recent_auth=True, back="/children/{child_id}/unshield"))]

REVIEW_ON = DateField("review_on", "The review date", "Review date")
DONE = {
    "shielded": "Shield set. The child's record is shielded until someone removes the shield.",
    "unshielded": "Shield removed.",
}


def _history(request: Request, actor: Principal, child_id: str) -> list[shields.Shield]:
    with runtime(request).engine.connect() as conn:
        return shields.history(conn, child_id, actor)


def _view(s: shields.Shield) -> dict[str, Any]:
    return {"shield": s, "review_on": day(s.review_on), "set_at": moment(s.set_at),
            "removed_at": moment(s.removed_at)}


@router.get("/children/{child_id}/shields")
def history_page(request: Request, child_id: str, actor: Reader, done: str = "") -> Response:
    found = _history(request, actor, child_id)
    current = next((s for s in reversed(found) if s.status == "active"), None)
    context = {"title": f"Shield of child {child_id}", "child_id": child_id,
               "history": [_view(s) for s in reversed(found)],
               "current": _view(current) if current else None, "done": DONE.get(done)}
    return render(request, "shield_history.html", context, principal=actor)


def _shield_page(request: Request, actor: Principal, child_id: str, form: dict[str, str],
                 errors: list[FieldError], status: int = 200) -> Response:
    found = _history(request, actor, child_id)  # refuses another council's child first
    context = {"title": f"Shield child {child_id}", "child_id": child_id, "errors": errors,
               "form": form, "renew": any(s.status == "active" for s in found),
               "review_items": date_items(REVIEW_ON.raw(form), REVIEW_ON.name, errors)}
    return render(request, "shield_set.html", context, status=status, principal=actor)


@router.get("/children/{child_id}/shield")
def shield_page(request: Request, child_id: str, actor: FreshToShield) -> Response:
    return _shield_page(request, actor, child_id, {}, [])


@router.post("/children/{child_id}/shield")
async def set_shield(request: Request, child_id: str, actor: FreshToShield,
                     _: Checked) -> Response:
    form = await form_of(request)
    errors: list[FieldError] = []
    reason = form.get("reason", "").strip()
    if not reason:
        errors.append(FieldError("reason", "Enter why the child's record must be shielded"))
    review_on = REVIEW_ON.read(form, errors)
    if review_on is None and not any(e.field.startswith("review_on-") for e in errors):
        errors.append(FieldError("review_on-day", "Enter the date to review the shield by"))
    if not errors and review_on is not None:
        rt = runtime(request)
        try:
            with rt.transaction() as conn:
                shields.set_shield(conn, child_id, actor, reason=reason, review_on=review_on,
                                   now=rt.clock(), request_id=request_id(request))
        except ContactPointError as exc:
            if exc.http_status == 422 and "review_on" in exc.message:
                errors.append(FieldError(
                    "review_on-day", "The review date must be after today and within a year"))
            else:
                errors.append(form_error(exc, "reason"))
    if errors:
        return _shield_page(request, actor, child_id, form, errors, status=422)
    return redirect(f"/children/{child_id}/shields?done=shielded")


def _unshield_page(request: Request, actor: Principal, child_id: str, form: dict[str, str],
                   errors: list[FieldError], status: int = 200) -> Response:
    found = _history(request, actor, child_id)
    current = next((s for s in reversed(found) if s.status == "active"), None)
    context = {"title": f"Remove the shield of child {child_id}", "child_id": child_id,
               "errors": errors, "form": form, "current": _view(current) if current else None}
    return render(request, "shield_remove.html", context, status=status, principal=actor)


@router.get("/children/{child_id}/unshield")
def unshield_page(request: Request, child_id: str, actor: FreshToUnshield) -> Response:
    return _unshield_page(request, actor, child_id, {}, [])


@router.post("/children/{child_id}/unshield")
async def remove_shield(request: Request, child_id: str, actor: FreshToUnshield,
                        _: Checked) -> Response:
    form = await form_of(request)
    errors: list[FieldError] = []
    reason = form.get("reason", "").strip()
    if not reason:
        errors.append(FieldError("reason", "Enter why the shield can be removed"))
    else:
        rt = runtime(request)
        try:
            with rt.transaction() as conn:
                shields.remove_shield(conn, child_id, actor, reason=reason, now=rt.clock(),
                                      request_id=request_id(request))
        except ContactPointError as exc:
            errors.append(form_error(exc, "reason"))
    if errors:
        return _unshield_page(request, actor, child_id, form, errors, status=422)
    return redirect(f"/children/{child_id}/shields?done=unshielded")
