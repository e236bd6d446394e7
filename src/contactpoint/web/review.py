"""The clerical review pages and a child's link history with the unmerge.

* ``/review``: the open items (references only, as ``GET /api/review``).
* ``/review/{n}``: both records side by side and each comparison's level and match weight
  (``linking/review.evidence``, the model's waterfall; every view audited), then the decision
  (``review.decide``, as ``POST /api/review/{n}/decision``). "Not sure" decides nothing: the
  item stays open for someone else.
* ``/children/{id}/links``: the child's source records and its merges and unmerges;
  ``/children/{id}/unmerge`` splits named records out (``linking/child_links.split``, as
  ``POST /api/children/{id}/unmerge``), with step-up and a reason.

Council teams and national administrators (``linkage:review:decide``), as in the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import runtime
from contactpoint.domain.linkage import ReviewOutcome, ReviewStatus
from contactpoint.errors import ContactPointError
from contactpoint.linking import child_links, models, review
from contactpoint.web.council import Checked, form_error, redirect
from contactpoint.web.display import day, moment
from contactpoint.web.guard import Page, page_user
from contactpoint.web.templating import FieldError, render

# Signed in first, then the route's permission, then (forms) the CSRF token: a refusal for
# want of permission is never hidden behind a token error.
router = APIRouter(include_in_schema=False, dependencies=[Depends(page_user)])

Reviewer = Annotated[Principal, Depends(Page(Permission.LINKAGE_REVIEW_DECIDE))]
FreshToUnmerge = Annotated[Principal, Depends(Page(
    Permission.LINKAGE_REVIEW_DECIDE, recent_auth=True, back="/children/{child_id}/unmerge"))]

UNSURE = "unsure"
FIELD_LABELS = {
    "given_name": "Given name", "middle_names": "Middle names", "family_name": "Family name",
    "former_family_name": "Former family name", "preferred_name": "Preferred name",
    "date_of_birth": "Date of birth", "sex": "Sex", "address_line_1": "Address line 1",
    "address_line_2": "Address line 2", "address_line_3": "Address line 3", "town": "Town",
    "postcode": "Postcode", "nhs_number": "NHS number", "upn": "Unique pupil number",
    "carer_names": "Carers",
}
NHS_CONFLICT = ("The two records carry different NHS numbers. To join them anyway, tick the box "
                "below and give a reason")
DECIDED = {"same": "the same child", "different": "different children"}


@router.get("/review")
def review_list(request: Request, actor: Reviewer, decided: int | None = None,
                outcome: str = "", unsure: int | None = None) -> Response:
    with runtime(request).engine.connect() as conn:
        items = review.list_items(conn, status=ReviewStatus.OPEN, limit=200)
    rows = [{"item": i, "when": moment(i.created_at),
             "probability": "" if i.match_probability is None else f"{i.match_probability:.2f}"}
            for i in items]
    context = {"title": "Possible matches to review", "rows": rows, "decided": decided,
               "outcome": DECIDED.get(outcome), "unsure": unsure}
    return render(request, "review_list.html", context, principal=actor)


def _shown(field: str, value: str | None) -> str:
    """A record's value as the page shows it (a date of birth as GOV.UK writes dates)."""
    if not value:
        return ""
    if field == "date_of_birth":
        try:
            return day(value[:10])
        except ValueError:
            return value
    return value


def _item_page(request: Request, actor: Principal, item_id: int, *, form: dict[str, str],
               errors: list[FieldError], status: int = 200) -> Response:
    rt = runtime(request)
    model = models.current_model(rt.settings.effective_linkage_dir)
    with rt.engine.begin() as conn:
        shown = review.evidence(conn, item_id, model, actor=actor.actor,
                                organisation=actor.organisation.code)
    data = shown.as_dict()
    rows = [{"label": label, "left": _shown(f, data["left"]["record"].get(f)),
             "right": _shown(f, data["right"]["record"].get(f)),
             "differ": (data["left"]["record"].get(f) or "")
             != (data["right"]["record"].get(f) or "")}
            for f, label in FIELD_LABELS.items()
            if data["left"]["record"].get(f) or data["right"]["record"].get(f)]
    evidence = data["evidence"]
    probability = data["match_probability"]
    context = {"title": f"Review item {item_id}", "data": data, "rows": rows,
               "evidence": evidence, "errors": errors, "form": form,
               "probability": "" if probability is None else f"{probability:.2f}",
               "offer_force": any(e.message == NHS_CONFLICT for e in errors)
               or form.get("force") == "yes"}
    return render(request, "review_item.html", context, status=status, principal=actor)


@router.get("/review/{item_id}")
def item_page(request: Request, item_id: int, actor: Reviewer) -> Response:
    """Shows personal data: each view is audited (``linkage:review:view``)."""
    return _item_page(request, actor, item_id, form={}, errors=[])


@router.post("/review/{item_id}/decision")
async def decide(request: Request, item_id: int, actor: Reviewer,
                 _: Checked) -> Response:
    raw = await request.form()
    form = {k: str(v)[:500] for k, v in raw.items() if isinstance(v, str)}
    outcome = form.get("outcome", "")
    reason = form.get("reason", "").strip() or None
    if outcome == UNSURE:
        return redirect(f"/review?unsure={item_id}")
    errors: list[FieldError] = []
    if outcome not in {o.value for o in ReviewOutcome}:
        errors.append(FieldError("outcome", "Select whether these records are the same child"))
    else:
        try:
            with runtime(request).engine.begin() as conn:
                result = review.decide(conn, item_id, outcome, actor=actor.actor,
                                       reason=reason, force=form.get("force") == "yes")
        except ContactPointError as exc:
            if exc.http_status == 409 and "NHS number" in exc.message:
                errors.append(FieldError("outcome", NHS_CONFLICT))
            else:
                errors.append(form_error(exc, "reason" if exc.http_status == 422 else "outcome"))
    if errors:
        return _item_page(request, actor, item_id, form=form, errors=errors, status=422)
    return redirect(f"/review?decided={result.item_id}&outcome={result.outcome}")


# -- a child's links and the unmerge --------------------------------------------------------


def _links(request: Request, actor: Principal, child_id: str) -> child_links.ChildLinks:
    with runtime(request).engine.connect() as conn:
        return child_links.links_of(conn, child_id, actor)


def _events(found: child_links.ChildLinks) -> list[dict[str, Any]]:
    return [{"event": e, "when": moment(e.created_at)} for e in found.events]


@router.get("/children/{child_id}/links")
def links_page(request: Request, child_id: str, actor: Reviewer, moved: str = "") -> Response:
    found = _links(request, actor, child_id)
    context = {"title": f"Links of child {found.child.child_id}", "found": found,
               "events": _events(found), "moved": moved, "asked_for": child_id}
    return render(request, "child_links.html", context, principal=actor)


def _unmerge_page(request: Request, actor: Principal, child_id: str, form: dict[str, Any],
                  errors: list[FieldError], status: int = 200) -> Response:
    found = _links(request, actor, child_id)
    context = {"title": f"Unmerge records of child {found.child.child_id}", "found": found,
               "errors": errors, "form": form, "chosen": form.get("records", [])}
    return render(request, "child_unmerge.html", context, status=status, principal=actor)


@router.get("/children/{child_id}/unmerge")
def unmerge_page(request: Request, child_id: str, actor: FreshToUnmerge) -> Response:
    return _unmerge_page(request, actor, child_id, {}, [])


@router.post("/children/{child_id}/unmerge")
async def unmerge(request: Request, child_id: str, actor: FreshToUnmerge,
                  _: Checked) -> Response:
    raw = await request.form()
    refs = [str(v)[:200] for v in raw.getlist("records") if isinstance(v, str)][:500]
    reason = str(raw.get("reason", ""))[:500].strip()
    to_new = raw.get("to_new") == "yes"
    form: dict[str, Any] = {"records": refs, "reason": reason, "to_new": to_new}
    errors: list[FieldError] = []
    if not refs:
        errors.append(FieldError("records", "Select the records to move out of this child"))
    if not reason:
        errors.append(FieldError("reason", "Enter why these records are another child"))
    if not errors:
        rt = runtime(request)
        try:
            with rt.transaction() as conn:
                current, target = child_links.split(conn, child_id, refs, actor, reason=reason,
                                                    to_new=to_new, now=rt.clock())
        except ContactPointError as exc:
            errors.append(form_error(exc, "reason" if "reason" in exc.message else "records"))
    if errors:
        return _unmerge_page(request, actor, child_id, form, errors, status=422)
    return redirect(f"/children/{current.child_id}/links?moved={target.child_id}")
