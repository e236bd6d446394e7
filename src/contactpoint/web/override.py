"""Override a child's shield (break-glass): ``/children/{child_id}/override``.

The same service as ``POST /api/children/{child_id}/override``
(``children.override.override_record``: the grant by role or per user, the view's
anti-browsing rule, the audit entry, the investigation opened for the child's council, in one
transaction). As in the API, a recent sign-in is required (step-up, ``Page(recent_auth=True)``)
and a reason. The full record is shown once, on the answer to the form: nothing is remembered,
and the record page is restricted again afterwards.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.children import override as override_service
from contactpoint.children.search import stated_reason
from contactpoint.errors import PermissionDenied, ReasonRequired
from contactpoint.web import csrf
from contactpoint.web.guard import Page
from contactpoint.web.record import render_record
from contactpoint.web.templating import FieldError, render

PATH = "/children/{child_id}/override"
# The permission is held by role or by a per-user grant: the service decides (as in the API).
Overrider = Annotated[
    Principal, Depends(Page(Permission.RECORD_CHILD_VIEW, recent_auth=True, back=PATH))]
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.RECORD_CHILD_VIEW)), Depends(csrf.verify)],
)


def _form(request: Request, principal: Principal, child_id: str, *, reason: str = "",
          ref: str = "", errors: list[FieldError] | None = None, status: int = 200) -> Response:
    context = {"title": "Override the shield", "child_id": child_id, "form": {"reason": reason},
               "ref": ref if ref.isdigit() else "", "errors": errors or []}
    return render(request, "override.html", context, status=status, principal=principal)


def _entitled_or_refuse(request: Request, principal: Principal) -> None:
    with runtime(request).engine.connect() as conn:
        if not override_service.entitled(conn, principal):
            raise PermissionDenied("you do not hold the shield-override permission "
                                   "(granted by your council team)")


@router.get(PATH)
def override_page(request: Request, child_id: str, principal: Overrider,
                  ref: int | None = None) -> Response:
    _entitled_or_refuse(request, principal)
    return _form(request, principal, child_id, ref=str(ref) if ref is not None else "")


@router.post(PATH)
async def override(request: Request, child_id: str, principal: Overrider) -> Response:
    raw = await request.form()
    reason = str(raw.get("reason") or "")[:1000]
    ref = str(raw.get("ref") or "")
    try:
        stated_reason(reason)
    except ReasonRequired as exc:
        text = "Enter why you need to override the shield" if not reason.strip() else (
            exc.message[:1].upper() + exc.message[1:])
        return _form(request, principal, child_id, reason=reason, ref=ref,
                     errors=[FieldError("reason", text)], status=422)
    rt = runtime(request)
    with rt.transaction() as conn:
        outcome = override_service.override_record(
            conn, principal, child_id, reason=reason, now=rt.clock(),
            request_id=request_id(request),
            window=timedelta(hours=rt.settings.view_window_hours))
    child, investigation = override_service.shown(outcome)
    return render_record(request, principal, child,
                         redirected_from=outcome.redirected_from, ref=None, own=[],
                         investigation=investigation.id)
