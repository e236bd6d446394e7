"""Auditor pages: search the audit trail; the chain's verification status; every shield
override investigation and its outcome.

The reads go through ``contactpoint.audit.search`` and ``council.investigations.for_auditor``
(each audits the read); nothing here queries a table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.search import MAX_RESULTS, AuditQuery, Reader, chain_status, search
from contactpoint.council import investigations
from contactpoint.errors import ValidationFailed
from contactpoint.web import csrf, display
from contactpoint.web.forms import DateField, TimeField, date_items
from contactpoint.web.guard import Page
from contactpoint.web.templating import FieldError, render

Auditor = Annotated[Principal, Depends(Page(Permission.AUDIT_TRAIL_READ))]
InvestigationReader = Annotated[Principal, Depends(Page(Permission.AUDIT_INVESTIGATION_READ))]
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.AUDIT_TRAIL_READ)), Depends(csrf.verify)],
)

FROM = DateField("from", "The start date")
TO = DateField("to", "The end date")
FROM_TIME = TimeField("from_time", "The start time")
TO_TIME = TimeField("to_time", "The end time")
TEXT_FIELDS = ("child_id", "username", "organisation")


def _until(day: date | None, at: time | None) -> datetime | None:
    """The end of the range, exclusive: the minute after ``at``, or the day after ``day``."""
    if day is None:
        return None
    if at is None:
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    return datetime.combine(day, at, tzinfo=UTC) + timedelta(minutes=1)


def _reader(request: Request, principal: Principal) -> Reader:
    return Reader(
        actor=principal.actor,
        organisation=principal.organisation.code,
        request_id=request_id(request),
        at=runtime(request).clock(),
    )


def _page(
    request: Request,
    principal: Principal,
    form: dict[str, Any],
    *,
    errors: list[FieldError] | None = None,
    results: list[Any] | None = None,
    status: int = 200,
) -> Response:
    errors = errors or []
    context = {
        "title": "Search the audit trail",
        "errors": errors,
        "form": form,
        "from_items": date_items(FROM.raw(form), FROM.name, errors),
        "to_items": date_items(TO.raw(form), TO.name, errors),
        "results": results,
        "max_results": MAX_RESULTS,
    }
    return render(request, "audit_search.html", context, status=status, principal=principal)


@router.get("/audit")
def search_page(request: Request, principal: Auditor) -> Response:
    return _page(request, principal, {})


@router.post("/audit")
async def search_trail(request: Request, principal: Auditor) -> Response:
    """POST, so that names and ids never travel in a URL (they would reach access logs)."""
    raw = await request.form()
    form: dict[str, Any] = {k: str(v)[:128] for k, v in raw.items() if isinstance(v, str)}
    errors: list[FieldError] = []
    start = FROM.read(form, errors)
    end = TO.read(form, errors)
    start_time = FROM_TIME.read(form, errors)
    end_time = TO_TIME.read(form, errors)
    for moment, day, clock_field in ((start_time, start, FROM_TIME), (end_time, end, TO_TIME)):
        name = clock_field.name
        if moment is not None and day is None and not any(e.field == name for e in errors):
            errors.append(FieldError(name, f"Enter a date for {clock_field.label.lower()}"))
    values = {name: form.get(name, "").strip() or None for name in TEXT_FIELDS}
    if not errors and not any(values.values()) and start is None and end is None:
        errors.append(
            FieldError("child_id", "Enter a child id, a username, an organisation or a date")
        )
    query = AuditQuery(
        child_id=values["child_id"],
        username=values["username"],
        organisation=values["organisation"],
        since=datetime.combine(start, start_time or time(), tzinfo=UTC) if start else None,
        until=_until(end, end_time),
    )
    if errors:
        return _page(request, principal, form, errors=errors, status=422)
    rt = runtime(request)
    try:
        with rt.transaction() as conn:
            found = search(conn, query, _reader(request, principal))
    except ValidationFailed as exc:
        field = "child_id" if exc.message.startswith("child id") else "from-day"
        message = exc.message[:1].upper() + exc.message[1:]
        return _page(request, principal, form, errors=[FieldError(field, message)], status=422)
    return _page(request, principal, form, results=found)


@router.get("/audit/verify")
def verification_page(request: Request, principal: Auditor) -> Response:
    """Walk the whole chain and its signed checkpoints now (``audit/verify.py``)."""
    rt = runtime(request)
    config = AuditConfig.from_settings(rt.settings)
    with rt.transaction() as conn:
        report = chain_status(conn, config, _reader(request, principal))
    return render(
        request,
        "audit_verify.html",
        {"title": "Check the audit trail", "report": report},
        principal=principal,
    )


@router.get("/audit/investigations")
def investigations_page(request: Request, principal: InvestigationReader) -> Response:
    """Every investigation, open and closed (``for_auditor`` audits the listing)."""
    rt = runtime(request)
    with rt.transaction() as conn:
        found = investigations.for_auditor(conn, principal, now=rt.clock(),
                                           request_id=request_id(request))
    rows = [{"item": i, "opened": display.moment(i.opened_at),
             "closed": display.moment(i.closed_at)}
            for i in reversed(found)]
    return render(request, "audit_investigations.html",
                  {"title": "Investigations", "rows": rows}, principal=principal)
