"""Find a child: the practitioner's search page (``/search``).

The same service as ``POST /api/children/search`` (``children.search``: the accepted
combinations, the policy's result fields, the audit entry with the stated reason). The form is
posted, so neither the criteria nor the reason land in a URL. Each result links to the record
with the search's audit entry as a reference (``?ref=``): the record page reads the stated
reason back from it (``children.view.open_record``), so the reason is given once and never
travels in an address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import audit_context, runtime
from contactpoint.children import search as search_service
from contactpoint.children.viewer import viewer_for
from contactpoint.domain.confidence import in_words
from contactpoint.domain.search import (
    ACCEPTED,
    MAX_BIRTH_RANGE_YEARS,
    SEX_CODES,
    CriteriaRefused,
    Criterion,
    SearchCriteria,
    checked,
)
from contactpoint.errors import ReasonRequired, ValidationFailed
from contactpoint.web import csrf
from contactpoint.web.forms import DateField, date_items
from contactpoint.web.guard import Page
from contactpoint.web.templating import FieldError, error_for, render

PATH = "/search"
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(Page(Permission.RECORD_CHILD_SEARCH)), Depends(csrf.verify)],
)
Searcher = Annotated[Principal, Depends(Page(Permission.RECORD_CHILD_SEARCH))]

DATE_OF_BIRTH = DateField("date_of_birth", "Date of birth")
BORN_FROM = DateField("born_from", "The start of the age range", "Born on or after")
BORN_TO = DateField("born_to", "The end of the age range", "Born on or before")

# How the accepted combinations (domain.search.ACCEPTED, declared once) read on a page.
CRITERION_WORDS: Mapping[Criterion, str] = {
    Criterion.GIVEN_NAME: "given name",
    Criterion.FAMILY_NAME: "family name",
    Criterion.DATE_OF_BIRTH: "date of birth",
    Criterion.BIRTH_RANGE: f"an age range of at most {MAX_BIRTH_RANGE_YEARS} years",
    Criterion.SEX: "sex",
    Criterion.POSTCODE: "postcode (or its first half, like LS6)",
    Criterion.TOWN: "town",
    Criterion.NHS_NUMBER: "NHS number",
    Criterion.UPN: "unique pupil number (UPN)",
}
_FIRST_FIELD = {
    Criterion.GIVEN_NAME: "given_name", Criterion.FAMILY_NAME: "family_name",
    Criterion.DATE_OF_BIRTH: "date_of_birth-day", Criterion.BIRTH_RANGE: "born_from-day",
    Criterion.POSTCODE: "postcode", Criterion.TOWN: "town", Criterion.NHS_NUMBER: "nhs_number",
    Criterion.UPN: "upn", Criterion.SEX: "sex",
}


def accepted_combinations() -> list[str]:
    """Each accepted combination in words: "given name, family name and date of birth"
    (a list's items, after a lead-in sentence)."""
    out = []
    for combination in ACCEPTED:
        parts = [" or ".join(CRITERION_WORDS[c] for c in sorted(requirement))
                 for requirement in combination]
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        out.append(text + (" alone" if len(parts) == 1 else ""))
    return out


def _criteria_error(exc: ValidationFailed, form: Mapping[str, str]) -> FieldError:
    """A criteria problem from ``domain.search.checked``, as a GOV.UK message on its field."""
    message = exc.message
    for name, words in (("given_name", "Given name"), ("family_name", "Family name"),
                        ("town", "Town")):
        if message.startswith(name):
            return FieldError(name, f"{words} must contain letters")
    if "needs both" in message:
        missing = "born_to" if form.get("born_from-day") else "born_from"
        return FieldError(f"{missing}-day", "Enter both dates of the age range")
    if "after born_to" in message:
        return FieldError("born_to-day", "The end of the age range must be after its start")
    if "NHS number" in message:
        return FieldError("nhs_number", "Enter a real NHS number, like 943 476 5919")
    if "UPN" in message:
        return FieldError("upn", "Enter a real unique pupil number: a letter and 12 "
                                 "characters, like A123456789012")
    return FieldError("given_name", message[:1].upper() + message[1:])


def _page(request: Request, principal: Principal, form: Mapping[str, str], *,
          errors: list[FieldError] | None = None, results: list[dict[str, Any]] | None = None,
          too_broad: bool = False, status: int = 200) -> Response:
    errors = errors or []
    context = {
        "title": "Find a child",
        "errors": errors,
        "error_description": ("You can search with: " + "; ".join(accepted_combinations())
                              + ". Sex or more details may be added to any of them."
                              if too_broad else None),
        "form": form,
        "too_broad": too_broad,
        "combinations": accepted_combinations(),
        "dob_items": date_items(DATE_OF_BIRTH.raw(form), DATE_OF_BIRTH.name, errors),
        "from_items": date_items(BORN_FROM.raw(form), BORN_FROM.name, errors),
        "to_items": date_items(BORN_TO.raw(form), BORN_TO.name, errors),
        "date_errors": {f.name: next((error_for(errors, f"{f.name}-{part}") for part in
                                      ("day", "month", "year")
                                      if error_for(errors, f"{f.name}-{part}")), None)
                        for f in (DATE_OF_BIRTH, BORN_FROM, BORN_TO)},
        "max_years": MAX_BIRTH_RANGE_YEARS,
        "results": results,
    }
    return render(request, "search.html", context, status=status, principal=principal)


@router.get(PATH)
def search_page(request: Request, principal: Searcher) -> Response:
    return _page(request, principal, {})


def _criteria(form: Mapping[str, str], errors: list[FieldError]) -> SearchCriteria:
    def text(name: str) -> str | None:
        return form.get(name, "").strip() or None

    return SearchCriteria(
        given_name=text("given_name"), family_name=text("family_name"),
        date_of_birth=DATE_OF_BIRTH.read(form, errors), born_from=BORN_FROM.read(form, errors),
        born_to=BORN_TO.read(form, errors), sex=SEX_CODES.get(form.get("sex", "")),
        postcode=text("postcode"), town=text("town"), nhs_number=text("nhs_number"),
        upn=text("upn"),
    )


@router.post(PATH)
async def run_search(request: Request, principal: Searcher) -> Response:
    """POST: the criteria and the reason never travel in a URL (they would reach logs)."""
    raw = await request.form()
    form = {k: str(v)[:500] for k, v in raw.items() if isinstance(v, str) and k != csrf.FIELD}
    errors: list[FieldError] = []
    too_broad = False
    try:
        search_service.stated_reason(form.get("reason"))
    except ReasonRequired as exc:
        text = "Enter why you are searching" if not form.get("reason", "").strip() else (
            exc.message[:1].upper() + exc.message[1:])
        errors.append(FieldError("reason", text))
    criteria = _criteria(form, errors)
    if not any(e.field.startswith(("date_of_birth", "born_")) for e in errors):
        try:
            checked(criteria)
        except CriteriaRefused:
            too_broad = True
            used = criteria.used()
            first = next((_FIRST_FIELD[c] for c in Criterion if c in used), "given_name")
            errors.append(FieldError(first, "These details could find many children: search "
                                            "with one of the combinations listed"))
        except ValidationFailed as exc:
            errors.append(_criteria_error(exc, form))
    if errors:
        return _page(request, principal, form, errors=errors, too_broad=too_broad, status=422)
    rt = runtime(request)
    with rt.transaction() as conn:
        outcome = search_service.audited_search(
            conn, viewer=viewer_for(principal), criteria=criteria, reason=form.get("reason"),
            ctx=audit_context(request, principal),
            linkage_dir=rt.settings.effective_linkage_dir, now=rt.clock(),
        )
    results = [{
        "hit": hit,
        "href": f"/children/{hit.child_id}?ref={outcome.reference}",
        "confidence": in_words(hit.confidence),
    } for hit in outcome.hits]
    return _page(request, principal, form, results=results)
