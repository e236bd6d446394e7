"""Brokered contact about a shielded child: ask the council to put me in touch, and my requests.

The same service as ``POST /api/children/{child_id}/contact-requests`` and
``GET /api/contact-requests`` (``council.contact``: only a shielded child of a council, the one
refusal for everything else, the audit entry with the reason). The practitioner sees their
requests as ``council.contact.requester_view`` shows them: the status and the council's
answer, nothing of the child's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.council import contact
from contactpoint.domain.council import ContactStatus
from contactpoint.web import csrf
from contactpoint.web.guard import Page
from contactpoint.web.templating import FieldError, render
from contactpoint.web.words import WORDS

LIST_PATH = "/contact-requests"
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.RECORD_CONTACT_REQUEST)), Depends(csrf.verify)],
)
Requester = Annotated[Principal, Depends(Page(Permission.RECORD_CONTACT_REQUEST))]

STATUS_TAGS: Mapping[str, tuple[str, str]] = {
    ContactStatus.PENDING: ("Waiting for the council", "govuk-tag--blue"),
    ContactStatus.ACCEPTED: ("Accepted: your details were passed on", "govuk-tag--green"),
    ContactStatus.DECLINED: ("Declined", "govuk-tag--red"),
}


def _form_page(request: Request, principal: Principal, child_id: str, form: Mapping[str, str],
               errors: list[FieldError], status: int = 200) -> Response:
    ref = form.get("ref", "")
    context = {"title": "Ask to be put in touch", "child_id": child_id, "form": form,
               "ref": ref if ref.isdigit() else "", "errors": errors}
    return render(request, "contact_request.html", context, status=status, principal=principal)


@router.get("/children/{child_id}/contact-request")
def request_page(request: Request, child_id: str, principal: Requester,
                 ref: int | None = None) -> Response:
    form = {"ref": str(ref) if ref is not None else ""}
    return _form_page(request, principal, child_id, form, [])


@router.post("/children/{child_id}/contact-request")
async def send_request(request: Request, child_id: str, principal: Requester) -> Response:
    raw = await request.form()
    form = {k: str(v)[:600] for k, v in raw.items() if isinstance(v, str) and k != csrf.FIELD}
    errors = []
    if not form.get("reason", "").strip():
        errors.append(FieldError("reason", "Enter why you need to be put in touch"))
    if not form.get("contact_details", "").strip():
        errors.append(FieldError("contact_details", "Enter how the council and the family "
                                                    "can reach you"))
    for name in ("reason", "contact_details"):
        if len(form.get(name, "").strip()) > 500:
            errors.append(FieldError(name, "Use 500 characters or fewer"))
    if errors:
        return _form_page(request, principal, child_id, form, errors, status=422)
    rt = runtime(request)
    with rt.transaction() as conn:
        contact.request_contact(conn, child_id, principal, reason=form["reason"],
                                contact_details=form["contact_details"], now=rt.clock(),
                                request_id=request_id(request))
    return RedirectResponse(f"{LIST_PATH}?sent=true", status_code=303)


@router.get(LIST_PATH)
def my_requests(request: Request, principal: Requester, sent: bool = False) -> Response:
    with runtime(request).engine.connect() as conn:
        found = [contact.requester_view(c) for c in contact.mine(conn, principal)]
    found.reverse()  # newest first
    context = {"title": "Your contact requests", "requests": found, "sent": sent,
               "tags": STATUS_TAGS, "words": WORDS}
    return render(request, "contact_requests.html", context, principal=principal)
