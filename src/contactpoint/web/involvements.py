"""My involvement with a child, from the record page: add, change, end.

The same service as ``/api/children/{child_id}/involvements`` (``involvement.service``: who may
record, the sensitive-service consent rule, the audit entries). Each form carries the record
page's reference (``ref``, its view's audit entry) so that, once done, the browser goes back to
the record, opened again with the reason given before (``web.record``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.involvements import practitioner
from contactpoint.api.runtime import runtime
from contactpoint.domain.record import AssessmentStatus, ConsentBasis, ServiceType
from contactpoint.errors import ValidationFailed
from contactpoint.involvement import service
from contactpoint.involvement.service import Details
from contactpoint.web import csrf
from contactpoint.web.forms import DateField, date_items
from contactpoint.web.guard import Page
from contactpoint.web.templating import FieldError, error_for, render
from contactpoint.web.words import ASSESSMENT, CONSENT, SERVICE_TYPES, WORDS

router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.RECORD_INVOLVEMENT_WRITE)), Depends(csrf.verify)],
)
Writer = Annotated[Principal, Depends(Page(Permission.RECORD_INVOLVEMENT_WRITE))]

START = DateField("start", "The start date", "When did your involvement start? (optional)")
END = DateField("end", "The end date", "When did it end?")
TEXT = ("practitioner_name", "practitioner_role", "practitioner_phone", "practitioner_email")

# The service's field-named problems, as GOV.UK messages on their fields.
MESSAGES = {
    "practitioner_name": "Enter the practitioner's name",
    "practitioner_phone": "Enter a phone number, like 0113 496 0000",
    "practitioner_email": "Enter an email address in the correct format, like name@example.org",
    "practitioner_role": "The role must be 128 characters or fewer",
}


def _field_error(exc: ValidationFailed) -> FieldError:
    name, _, rest = exc.message.partition(": ")
    if name == "consent_basis":
        if "only to a sensitive" in rest:
            return FieldError("consent_basis", "Consent applies only to a sensitive service: "
                                               "select 'Not recorded'")
        return FieldError("consent_basis", "A sensitive service is recorded only with the "
                                           "young person's consent or where significant harm "
                                           "is suspected: select which")
    if name == "end":
        return FieldError("end-day" if "today" in rest else "start-day",
                          "The end date must be today or earlier" if "today" in rest
                          else "The start date must be before the end date")
    if name in MESSAGES:
        return FieldError(name, MESSAGES[name])
    return FieldError("service_type", exc.message[:1].upper() + exc.message[1:])


def _ref(form: Mapping[str, Any]) -> int | None:
    value = str(form.get("ref", ""))
    return int(value) if value.isdigit() and len(value) < 19 else None


def _back(child_id: str, ref: int | None, done: str) -> RedirectResponse:
    query = f"?ref={ref}&done={done}" if ref is not None else ""
    return RedirectResponse(f"/children/{child_id}{query}", status_code=303)


def _details(form: Mapping[str, str], errors: list[FieldError]) -> Details | None:
    """What the form states, or ``None`` with ``errors`` filled."""
    service_type = form.get("service_type", "")
    if service_type not in {s.value for s in ServiceType}:
        errors.append(FieldError("service_type", "Select the service you work for"))
    lead = form.get("lead_professional", "")
    if lead not in ("yes", "no"):
        errors.append(FieldError("lead_professional",
                                 "Select whether you are the lead professional"))
    assessment = form.get("assessment_status", AssessmentStatus.NONE.value)
    if assessment not in {a.value for a in AssessmentStatus}:
        errors.append(FieldError("assessment_status", "Select the CAF assessment status"))
    consent = form.get("consent_basis", ConsentBasis.NOT_GIVEN.value)
    if consent not in {c.value for c in ConsentBasis}:
        errors.append(FieldError("consent_basis", "Select a consent basis"))
    start = START.read(form, errors)
    if errors:
        return None
    text = {name: form.get(name, "").strip() or None for name in TEXT}
    return Details(
        service_type=ServiceType(service_type), practitioner_name=text["practitioner_name"] or "",
        practitioner_role=text["practitioner_role"], practitioner_phone=text["practitioner_phone"],
        practitioner_email=text["practitioner_email"],
        assessment_status=AssessmentStatus(assessment), lead_professional=lead == "yes",
        sensitive=form.get("sensitive") == "yes", consent_basis=ConsentBasis(consent),
        start=start,
    )


def _form_of(details: Details) -> dict[str, str]:
    d = details
    out = {"service_type": d.service_type.value, "practitioner_name": d.practitioner_name,
           "practitioner_role": d.practitioner_role or "",
           "practitioner_phone": d.practitioner_phone or "",
           "practitioner_email": d.practitioner_email or "",
           "assessment_status": d.assessment_status.value,
           "lead_professional": "yes" if d.lead_professional else "no",
           "sensitive": "yes" if d.sensitive else "", "consent_basis": d.consent_basis.value}
    if d.start is not None:
        out |= {"start-day": str(d.start.day), "start-month": str(d.start.month),
                "start-year": str(d.start.year)}
    return out


def _form_page(request: Request, principal: Principal, child_id: str, form: Mapping[str, str],
               *, involvement_id: int | None = None, errors: list[FieldError] | None = None,
               status: int = 200) -> Response:
    errors = errors or []
    context = {
        "title": "Change your involvement" if involvement_id else "Add your involvement",
        "child_id": child_id, "involvement_id": involvement_id, "form": form,
        "ref": _ref(form), "errors": errors,
        "service_types": [(s.value, label) for s, label in SERVICE_TYPES.items()],
        "assessments": [(a.value, label) for a, label in ASSESSMENT.items()],
        "consents": [(c.value, label) for c, label in CONSENT.items()],
        "start_items": date_items(START.raw(form), START.name, errors),
        "start_error": _date_error(errors, START.name), "words": WORDS,
    }
    return render(request, "involvement_form.html", context, status=status, principal=principal)


def _date_error(errors: list[FieldError], name: str) -> dict[str, str] | None:
    for part in ("day", "month", "year"):
        found = error_for(errors, f"{name}-{part}")
        if found:
            return found
    return None


async def _posted(request: Request) -> dict[str, str]:
    raw = await request.form()
    return {k: str(v)[:600] for k, v in raw.items() if isinstance(v, str) and k != csrf.FIELD}


@router.get("/children/{child_id}/involvements/new")
def new_page(request: Request, child_id: str, principal: Writer,
             ref: int | None = None) -> Response:
    form = {"ref": str(ref) if ref is not None else ""}
    return _form_page(request, principal, child_id, form)


@router.post("/children/{child_id}/involvements")
async def add(request: Request, child_id: str, principal: Writer) -> Response:
    form = await _posted(request)
    errors: list[FieldError] = []
    details = _details(form, errors)
    if details is None:
        return _form_page(request, principal, child_id, form, errors=errors, status=422)
    rt = runtime(request)
    try:
        with rt.transaction() as conn:
            made = service.record(conn, practitioner(request, principal), child_id, details,
                                  now=rt.clock())
    except ValidationFailed as exc:
        return _form_page(request, principal, child_id, form, errors=[_field_error(exc)],
                          status=422)
    return _back(made.child_id, _ref(form), "added")


@router.get("/children/{child_id}/involvements/{involvement_id}")
def change_page(request: Request, child_id: str, involvement_id: int, principal: Writer,
                ref: int | None = None) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        held = service.get(conn, practitioner(request, principal), child_id, involvement_id)
    form = {**_form_of(held.details), "ref": str(ref) if ref is not None else ""}
    return _form_page(request, principal, held.child_id, form, involvement_id=involvement_id)


@router.post("/children/{child_id}/involvements/{involvement_id}")
async def change(request: Request, child_id: str, involvement_id: int,
                 principal: Writer) -> Response:
    form = await _posted(request)
    errors: list[FieldError] = []
    details = _details(form, errors)
    if details is None:
        return _form_page(request, principal, child_id, form, involvement_id=involvement_id,
                          errors=errors, status=422)
    changes = {name: getattr(details, name) for name in service.CHANGEABLE if name != "end"}
    rt = runtime(request)
    try:
        with rt.transaction() as conn:
            done = service.change(conn, practitioner(request, principal), child_id,
                                  involvement_id, changes, now=rt.clock())
    except ValidationFailed as exc:
        return _form_page(request, principal, child_id, form, involvement_id=involvement_id,
                          errors=[_field_error(exc)], status=422)
    return _back(done.child_id, _ref(form), "changed")


def _cease_page(request: Request, principal: Principal, held: service.Recorded,
                form: Mapping[str, str], errors: list[FieldError], status: int = 200) -> Response:
    context = {"title": "End your involvement", "child_id": held.child_id, "held": held,
               "form": form, "ref": _ref(form), "errors": errors, "words": WORDS,
               "end_items": date_items(END.raw(form), END.name, errors),
               "end_error": _date_error(errors, END.name)}
    return render(request, "involvement_cease.html", context, status=status, principal=principal)


@router.get("/children/{child_id}/involvements/{involvement_id}/cease")
def cease_page(request: Request, child_id: str, involvement_id: int, principal: Writer,
               ref: int | None = None) -> Response:
    rt = runtime(request)
    with rt.transaction() as conn:
        held = service.get(conn, practitioner(request, principal), child_id, involvement_id)
    today: date = rt.clock().date()
    form = {"end-day": str(today.day), "end-month": str(today.month),
            "end-year": str(today.year), "ref": str(ref) if ref is not None else ""}
    return _cease_page(request, principal, held, form, [])


@router.post("/children/{child_id}/involvements/{involvement_id}/cease")
async def cease(request: Request, child_id: str, involvement_id: int,
                principal: Writer) -> Response:
    form = await _posted(request)
    errors: list[FieldError] = []
    end = END.read(form, errors)
    rt = runtime(request)
    who = practitioner(request, principal)
    if not errors:
        try:
            with rt.transaction() as conn:
                done = service.cease(conn, who, child_id, involvement_id, end=end,
                                     now=rt.clock())
            return _back(done.child_id, _ref(form), "ceased")
        except ValidationFailed as exc:
            errors.append(FieldError("end-day", "The end date must be today or earlier"
                                     if "today" in exc.message else
                                     "The end date must be after the start date"))
    with rt.transaction() as conn:
        held = service.get(conn, who, child_id, involvement_id)
    return _cease_page(request, principal, held, form, errors, status=422)
