"""A council team's pages: the work list, brokered-contact decisions, investigations and the
children-missing-education list.

Each page calls the council services the JSON API (``api/council.py``) calls, with the same
rules and the same audit: ``council/worklist.py``, ``contact.py``, ``investigations.py``,
``missing_education.py``. A request or investigation of another council is refused as the API
refuses it (404, "no such …"), never shown.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.council import contact, investigations, missing_education
from contactpoint.council import worklist as work
from contactpoint.domain.council import InvestigationOutcome
from contactpoint.domain.education import DEFAULT_GRACE_DAYS
from contactpoint.errors import ContactPointError
from contactpoint.web import csrf
from contactpoint.web.display import day, moment
from contactpoint.web.guard import Page, page_user
from contactpoint.web.templating import FieldError, render

# Signed in first, then the route's permission, then (forms) the CSRF token: a refusal for
# want of permission is never hidden behind a token error.
router = APIRouter(include_in_schema=False, dependencies=[Depends(page_user)])

Team = Annotated[Principal, Depends(Page(Permission.COUNCIL_WORKLIST_READ))]
Broker = Annotated[Principal, Depends(Page(Permission.RECORD_CONTACT_BROKER))]
Investigator = Annotated[Principal, Depends(Page(Permission.COUNCIL_INVESTIGATION_DECIDE))]
CmeReader = Annotated[Principal, Depends(Page(Permission.COUNCIL_CME_REPORT))]

Checked = Annotated[None, Depends(csrf.verify)]  # after the permission, in each form's route

OUTCOME_LABELS = {
    InvestigationOutcome.JUSTIFIED: "Justified: the override was proper",
    InvestigationOutcome.REFERRED: "Referred to the user's employer or another body",
    InvestigationOutcome.DISCIPLINARY: "Disciplinary: the override was misuse",
}
STATUS_TAGS = {
    "pending": ("Waiting", "govuk-tag--yellow"),
    "accepted": ("Accepted", "govuk-tag--green"),
    "declined": ("Declined", "govuk-tag--grey"),
    "open": ("Open", "govuk-tag--yellow"),
    "closed": ("Closed", "govuk-tag--grey"),
    "overdue": ("Overdue", "govuk-tag--red"),
    "due": ("Due", "govuk-tag--yellow"),
}
CME_REASONS = {
    "no_setting": "No education setting recorded",
    "setting_ended": "Last setting ended",
}


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


async def form_of(request: Request, limit: int = 600) -> dict[str, str]:
    raw = await request.form()
    return {k: str(v)[:limit] for k, v in raw.items() if isinstance(v, str)}


def form_error(exc: ContactPointError, field: str) -> FieldError:
    """A service's refusal of what was typed, as a GOV.UK error (404/403 are raised instead)."""
    if exc.http_status not in (409, 422):
        raise exc
    return FieldError(field, exc.message[:1].upper() + exc.message[1:])


# -- the work list --------------------------------------------------------------------------


@router.get("/council")
def worklist_page(request: Request, actor: Team) -> Response:
    rt = runtime(request)
    with rt.engine.connect() as conn:
        found = work.worklist(conn, actor, today=rt.clock().date())
    for row in found["contact_requests"]:
        row["when"] = moment(row["created_at"])
    for row in found["investigations"]:
        row["when"] = moment(row["opened_at"])
    for row in found["shield_reviews"]:
        row["when"] = day(row["review_on"])
        row["tag"] = STATUS_TAGS[row["state"]]
    for row in found["transfers"]:
        row["when"] = moment(row["at"])
    for row in found["review_items"]:
        p = row["match_probability"]
        row["probability"] = "" if p is None else f"{p:.2f}"
    return render(request, "council_worklist.html", {"title": "Work list", "work": found},
                  principal=actor)


# -- brokered contact -----------------------------------------------------------------------


def _contact_page(request: Request, actor: Principal, request_no: int, *, form: dict[str, str],
                  errors: list[FieldError], done: bool = False, status: int = 200) -> Response:
    with runtime(request).engine.connect() as conn:
        found = contact.one_for_council(conn, request_no, actor)
    context = {"title": f"Contact request {found.id}", "item": found, "errors": errors,
               "form": form, "done": done, "asked": moment(found.created_at),
               "decided": moment(found.decided_at), "tag": STATUS_TAGS[found.status]}
    return render(request, "council_contact.html", context, status=status, principal=actor)


@router.get("/council/contact-requests/{request_no}")
def contact_page(request: Request, request_no: int, actor: Broker,
                 done: bool = False) -> Response:
    return _contact_page(request, actor, request_no, form={}, errors=[], done=done)


@router.post("/council/contact-requests/{request_no}/decision")
async def decide_contact(request: Request, request_no: int, actor: Broker,
                         _: Checked) -> Response:
    form = await form_of(request)
    outcome = form.get("outcome", "")
    errors: list[FieldError] = []
    if outcome not in ("accept", "decline"):
        errors.append(FieldError("outcome", "Select whether to accept or decline the request"))
    else:
        rt = runtime(request)
        try:
            with rt.transaction() as conn:
                contact.decide(conn, request_no, actor, accept=outcome == "accept",
                               reason=form.get("reason"), now=rt.clock(),
                               request_id=request_id(request))
        except ContactPointError as exc:
            field = "reason" if exc.http_status == 422 else "outcome"
            errors.append(form_error(exc, field))
    if errors:
        return _contact_page(request, actor, request_no, form=form, errors=errors, status=422)
    return redirect(f"/council/contact-requests/{request_no}?done=true")


# -- investigations -------------------------------------------------------------------------


def _investigation_view(i: investigations.Investigation) -> dict[str, Any]:
    return {"item": i, "opened": moment(i.opened_at), "closed": moment(i.closed_at),
            "tag": STATUS_TAGS[i.status],
            "outcome": OUTCOME_LABELS.get(InvestigationOutcome(i.outcome)) if i.outcome else ""}


@router.get("/council/investigations")
def investigations_page(request: Request, actor: Investigator) -> Response:
    with runtime(request).engine.connect() as conn:
        found = [_investigation_view(i) for i in investigations.for_team(conn, actor)]
    return render(request, "council_investigations.html",
                  {"title": "Investigations", "investigations": found}, principal=actor)


def _investigation_page(request: Request, actor: Principal, number: int, *,
                        form: dict[str, str], errors: list[FieldError], done: bool = False,
                        status: int = 200) -> Response:
    with runtime(request).engine.connect() as conn:
        found = investigations.one_for_council(conn, number, actor)
    context = {"title": f"Investigation {found.id}", "errors": errors, "form": form,
               "done": done, "outcomes": [(o.value, label) for o, label in OUTCOME_LABELS.items()],
               **_investigation_view(found)}
    return render(request, "council_investigation.html", context, status=status,
                  principal=actor)


@router.get("/council/investigations/{number}")
def investigation_page(request: Request, number: int, actor: Investigator,
                       done: bool = False) -> Response:
    return _investigation_page(request, actor, number, form={}, errors=[], done=done)


@router.post("/council/investigations/{number}/outcome")
async def record_outcome(request: Request, number: int, actor: Investigator,
                         _: Checked) -> Response:
    form = await form_of(request)
    errors: list[FieldError] = []
    value = form.get("outcome", "")
    if value not in {o.value for o in InvestigationOutcome}:
        errors.append(FieldError("outcome", "Select the outcome of the investigation"))
    else:
        rt = runtime(request)
        try:
            with rt.transaction() as conn:
                investigations.record_outcome(conn, number, actor, InvestigationOutcome(value),
                                              reason=form.get("reason"), now=rt.clock(),
                                              request_id=request_id(request))
        except ContactPointError as exc:
            errors.append(form_error(exc, "outcome"))
    if errors:
        return _investigation_page(request, actor, number, form=form, errors=errors,
                                   status=422)
    return redirect(f"/council/investigations/{number}?done=true")


# -- children missing education -------------------------------------------------------------


@router.get("/council/missing-education")
def missing_education_page(
    request: Request, actor: CmeReader,
    grace_days: Annotated[str, Query(max_length=8)] = str(DEFAULT_GRACE_DAYS),
) -> Response:
    """Runs the report (audited, as the API's run is); the CSV link is the API's own."""
    errors: list[FieldError] = []
    typed = grace_days.strip()
    if not typed.isdigit() or not 0 <= int(typed) <= 365:
        errors.append(FieldError("grace_days", "Enter a whole number of days from 0 to 365"))
        rows: list[missing_education.MissingChild] = []
    else:
        rt = runtime(request)
        now = rt.clock()
        with rt.transaction() as conn:
            rows = missing_education.report(conn, actor, on=now.date(), now=now,
                                            grace_days=int(typed),
                                            request_id=request_id(request))
    children = [{"row": r, "reason": CME_REASONS.get(r.reason, r.reason),
                 "start": day(r.last_setting.start) if r.last_setting else "",
                 "end": day(r.last_setting.end) if r.last_setting else ""} for r in rows]
    context = {"title": "Children missing education", "errors": errors, "grace_days": typed,
               "children": children, "on": day(runtime(request).clock())}
    return render(request, "council_cme.html", context, status=422 if errors else 200,
                  principal=actor)
