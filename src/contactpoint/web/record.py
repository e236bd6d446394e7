"""A child's record (``/children/{child_id}``): the fields the policy shows, who else is working
with the child, and the person's own organisation's involvement.

The same service as ``GET /api/children/{child_id}`` (``children.view.open_record``: the
anti-browsing rule, the visibility policy, the audit entry with the stated reason). The view
needs a stated reason. Coming from a search, the link carries the search's audit entry
(``?ref=``) and the reason stated there is used; each record page carries its own view's entry
on to the involvement forms and back. Without a reference (or with one no longer valid: an
older one, another person's), the page asks why, by a posted form, so the reason never
travels in a URL.

A shielded child shows what the policy leaves (names, date of birth, sex, the child id, the
viewer's own organisation's involvement) and a way to ask the council to put the practitioner
in touch (``web.contact``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.involvements import practitioner
from contactpoint.api.runtime import Runtime, audit_context, runtime
from contactpoint.children import override as override_service
from contactpoint.children import view as view_service
from contactpoint.children.search import stated_reason
from contactpoint.domain.record import ChildNames, InvolvementStatus, Whereabouts
from contactpoint.domain.visibility import VisibleChild
from contactpoint.errors import NotFound, ReasonRequired
from contactpoint.involvement import service as involvements
from contactpoint.web import csrf
from contactpoint.web.display import day
from contactpoint.web.guard import Page
from contactpoint.web.templating import FieldError, render
from contactpoint.web.words import SEX, WHEREABOUTS, WORDS

PATH = "/children/{child_id}"
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.RECORD_CHILD_VIEW)), Depends(csrf.verify)],
)
Viewer = Annotated[Principal, Depends(Page(Permission.RECORD_CHILD_VIEW))]

COUNCIL_LINKS = (("shields", Permission.RECORD_SHIELD_SET),
                 ("links", Permission.LINKAGE_REVIEW_DECIDE))
NOTICES = {
    "added": "Your involvement is recorded. Other practitioners can now see it.",
    "changed": "Your involvement is updated.",
    "ceased": "Your involvement is marked as ended.",
}


def window(rt: Runtime) -> timedelta:
    return timedelta(hours=rt.settings.view_window_hours)


def reason_page(request: Request, principal: Principal, child_id: str,
                errors: list[FieldError], form: dict[str, str] | None = None,
                status: int = 200) -> Response:
    context = {"title": "Why are you opening this record?", "child_id": child_id,
               "errors": errors, "form": form or {}}
    return render(request, "record_reason.html", context, status=status, principal=principal)


@dataclass(frozen=True)
class Row:
    """One line of the record's summary list: label, lines of value, where it came from."""

    key: str
    lines: tuple[str, ...]
    source: str | None = None


def _source(child: VisibleChild, field: str) -> str | None:
    found = child.provenance.get(field) if child.provenance else None
    if not isinstance(found, dict):
        return None
    return (f"From {found['source_code']} (record {found['source_record_id']}, "
            f"extract of {day(str(found['extract_date']))})")


def summary_rows(child: VisibleChild) -> list[Row]:
    """The fields shown, in the order a practitioner reads them; hidden ones are absent."""
    rows = [Row("Child id", (child.child_id or "",))]
    names = child.names if isinstance(child.names, ChildNames) else None
    if names is not None:
        full = " ".join(p for p in (names.given_name, names.middle_names, names.family_name) if p)
        lines = [full]
        if names.preferred_name:
            lines.append(f"Known as {names.preferred_name}")
        if names.former_family_names:
            lines.append("Formerly " + ", ".join(names.former_family_names))
        rows.append(Row("Name", tuple(lines), _source(child, "name")))
    if child.date_of_birth:
        rows.append(Row("Date of birth", (day(child.date_of_birth),),
                        _source(child, "date_of_birth")))
    if child.gender:
        rows.append(Row("Sex", (SEX.get(child.gender, child.gender),), _source(child, "sex")))
    where = child.whereabouts if isinstance(child.whereabouts, Whereabouts) else None
    if where is not None:
        lines = [WHEREABOUTS[where.state]]
        if where.address is not None:
            lines += [*where.address.lines, where.address.town or "", where.address.postcode or ""]
        rows.append(Row("Address", tuple(x for x in lines if x), _source(child, "address")))
    if "nhs_number" in child.fields_shown:
        rows.append(Row("NHS number", (child.nhs_number or "Not known",),
                        _source(child, "nhs_number")))
    if "upn" in child.fields_shown:
        rows.append(Row("Unique pupil number", (child.upn or "Not known",),
                        _source(child, "upn")))
    if "carers" in child.fields_shown:
        carers = []
        for c in child.carers:
            relation = getattr(c, "relationship", None)
            phone = getattr(c, "phone", None)
            carers.append(", ".join(p for p in (getattr(c, "name", ""), relation, phone) if p))
        rows.append(Row("Parents and carers", tuple(carers) or ("None recorded",),
                        _source(child, "carers")))
    for field, label, inv in (("education_setting", "School or education setting",
                               child.education_setting),
                              ("gp_practice", "GP practice", child.gp_practice)):
        if inv is not None:
            rows.append(Row(label, tuple(x for x in (inv.org_name, inv.org_code) if x),
                            _source(child, field)))
    return rows


def _own(conn: Connection, request: Request, principal: Principal,
         child_id: str) -> list[involvements.Recorded]:
    """The current involvements the person's organisation recorded (to change or end)."""
    if not principal.has(Permission.RECORD_INVOLVEMENT_WRITE):
        return []
    try:
        found = involvements.organisation_involvements(conn, practitioner(request, principal),
                                                       child_id)
    except NotFound:
        return []
    return [r for r in found if r.status is InvolvementStatus.CURRENT]


def render_record(request: Request, principal: Principal, child: VisibleChild, *,
                  redirected_from: str | None, ref: int | None,
                  own: list[involvements.Recorded], may_override: bool = False,
                  notice: str | None = None, investigation: int | None = None) -> Response:
    """The record page for ``child`` as the policy (or an override) let this person see it."""
    names = child.names if isinstance(child.names, ChildNames) else None
    context = {
        "title": f"{names.given_name} {names.family_name}" if names else "Child record",
        "child": child,
        "child_id": child.child_id,
        "redirected_from": redirected_from,
        "ref": ref,
        "rows": summary_rows(child),
        "restricted": bool(child.request_contact),
        "own": own,
        "may_record": principal.has(Permission.RECORD_INVOLVEMENT_WRITE) and ref is not None,
        "may_request_contact": principal.has(Permission.RECORD_CONTACT_REQUEST),
        "may_override": may_override,
        # the council team's pages about this child (web/shields.py, web/review.py)
        "council_links": [name for name, permission in COUNCIL_LINKS
                          if principal.has(permission)],
        "investigation": investigation,
        "notice": notice,
        "words": WORDS,
    }
    return render(request, "record.html", context, principal=principal)


def open_page(request: Request, principal: Principal, child_id: str, *,
              reason: str | None = None, reference: int | None = None,
              notice: str | None = None) -> Response:
    """Open the record (audited) and render it; ask for a reason when there is none."""
    rt = runtime(request)
    may_override = False
    with rt.transaction() as conn:
        try:
            outcome = view_service.open_record(
                conn, principal, child_id, reason=reason, reference=reference,
                ctx=audit_context(request, principal), now=rt.clock(), window=window(rt))
        except ReasonRequired:
            outcome = None
        own = (_own(conn, request, principal, outcome.child.child_id or child_id)
               if outcome is not None and outcome.child is not None else [])
        if outcome is not None and outcome.child is not None and outcome.child.request_contact:
            may_override = override_service.entitled(conn, principal)
    if outcome is None:
        return reason_page(request, principal, child_id, [])
    if outcome.child is None:
        raise view_service.ViewRefused(view_service.REFUSAL)
    return render_record(request, principal, outcome.child,
                         redirected_from=outcome.redirected_from, ref=outcome.reference,
                         own=own, may_override=may_override, notice=notice)


@router.get(PATH)
def record_page(request: Request, child_id: str, principal: Viewer, ref: int | None = None,
                done: str | None = None) -> Response:
    if ref is None:
        return reason_page(request, principal, child_id, [])
    return open_page(request, principal, child_id, reference=ref,
                     notice=NOTICES.get(done or ""))


@router.post(PATH)
async def record_with_reason(request: Request, child_id: str, principal: Viewer) -> Response:
    """The reason form's answer (POST: the reason never lands in a URL)."""
    raw = await request.form()
    reason = str(raw.get("reason") or "")[:1000]
    try:
        stated_reason(reason)
    except ReasonRequired as exc:
        text = "Enter why you are opening this record" if not reason.strip() else (
            exc.message[:1].upper() + exc.message[1:])
        return reason_page(request, principal, child_id, [FieldError("reason", text)],
                           {"reason": reason}, status=422)
    return open_page(request, principal, child_id, reason=reason)
