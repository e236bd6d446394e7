"""Finding a child and opening their record (JSON): ``POST /api/children/search``,
``GET /api/children/{child_id}`` and the shield override ``POST /api/children/{child_id}/override``
(step-up).

Search criteria travel in the POST body, never in a URL (request lines are logged). The view
takes the stated reason in the ``X-Contactpoint-Reason`` header, which no log records.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import (
    audit_context,
    request_id,
    runtime,
    shares_sign_in_transaction,
)
from contactpoint.api.security import (
    Checked,
    CheckedFirstRoute,
    Require,
    RequireInEndpoint,
    signed_in_here_or_later,
)
from contactpoint.children import override as override_service
from contactpoint.children import search as search_service
from contactpoint.children import view as view_service
from contactpoint.children.viewer import viewer_for
from contactpoint.domain.confidence import ConfidenceBand, band
from contactpoint.domain.record import Carer, ChildNames, Involvement, Whereabouts
from contactpoint.domain.search import SEX_CODES, SearchCriteria
from contactpoint.domain.visibility import VisibleChild

# The sign-in check runs in the search endpoint's own thread (one thread hand-off per search,
# not two: security.RequireInEndpoint); in the other routes' dependencies, as everywhere.
router = APIRouter(prefix="/api/children", tags=["children"],
                   dependencies=[Depends(signed_in_here_or_later)], route_class=CheckedFirstRoute)

Searcher = Annotated[Checked, Depends(RequireInEndpoint(Permission.RECORD_CHILD_SEARCH))]
Viewer = Annotated[Principal, Depends(Require(Permission.RECORD_CHILD_VIEW))]
# the override permission is held by role or by a per-user grant: the service checks it
Overrider = Annotated[Principal, Depends(Require(Permission.RECORD_CHILD_VIEW, recent_auth=True))]
REASON_HEADER = "X-Contactpoint-Reason"


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500,
                               description="Why you are searching (required; audited).")
    given_name: str | None = Field(default=None, max_length=128)
    family_name: str | None = Field(default=None, max_length=128)
    date_of_birth: date | None = None
    born_from: date | None = Field(default=None, description="Age range start (inclusive).")
    born_to: date | None = Field(default=None, description="Age range end (inclusive).")
    sex: Literal["male", "female"] | None = None
    postcode: str | None = Field(default=None, max_length=16,
                                 description="A full postcode, or the district alone (LS6).")
    town: str | None = Field(default=None, max_length=128)
    nhs_number: str | None = Field(default=None, max_length=16)
    upn: str | None = Field(default=None, max_length=16)


class SearchResultOut(BaseModel):
    child_id: str
    confidence: float = Field(ge=0.0, le=1.0)
    confidence_band: ConfidenceBand = Field(
        description="The confidence in words (domain.confidence): very_likely >= 0.95, "
                    "likely >= 0.80, possible >= 0.50, else unlikely.")
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    town: str | None = None
    postcode_district: str | None = None


class SearchOut(BaseModel):
    results: list[SearchResultOut]


class NamesOut(BaseModel):
    given_name: str
    family_name: str
    middle_names: str | None = None
    preferred_name: str | None = None
    former_family_names: list[str] = []


class AddressOut(BaseModel):
    lines: list[str] = []
    town: str | None = None
    postcode: str | None = None


class WhereaboutsOut(BaseModel):
    state: str
    address: AddressOut | None = None


class CarerOut(BaseModel):
    name: str
    relationship: str | None = None
    phone: str | None = None
    parental_responsibility: bool | None = None


class InvolvementOut(BaseModel):
    service_type: str
    org_code: str | None = None
    org_name: str | None = None
    practitioner_name: str | None = None
    practitioner_role: str | None = None
    practitioner_phone: str | None = None
    practitioner_email: str | None = None
    start: date | None = None
    end: date | None = None
    assessment_status: str
    lead_professional: bool


class ChildOut(BaseModel):
    """A child record as the visibility policy lets this user see it; absent = not shown."""

    child_id: str
    redirected_from: str | None = Field(
        default=None, description="The id asked for, when it was merged into this child.")
    names: NamesOut | None = None
    gender: str | None = None
    date_of_birth: date | None = None
    shielded: bool | None = None
    request_contact: str | None = None
    whereabouts: WhereaboutsOut | None = None
    nhs_number: str | None = None
    upn: str | None = None
    carers: list[CarerOut] | None = None
    education_setting: InvolvementOut | None = None
    gp_practice: InvolvementOut | None = None
    involvements: list[InvolvementOut] | None = None
    provenance: dict[str, Any] | None = Field(
        default=None, description="Per field: the source record it came from (council teams).")
    fields_shown: list[str]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        default=None, max_length=500,
        description="Why the shield must be overridden (required; audited, and sent to the "
                    "child's responsible council as an investigation).")


class OverrideOut(ChildOut):
    """The full record for this one viewing, and the investigation it opened."""

    investigation_id: int


def _involvement(inv: Involvement) -> InvolvementOut:
    return InvolvementOut(
        service_type=inv.service_type.value, org_code=inv.org_code, org_name=inv.org_name,
        practitioner_name=inv.practitioner_name, practitioner_role=inv.practitioner_role,
        practitioner_phone=inv.practitioner_phone, practitioner_email=inv.practitioner_email,
        start=inv.start, end=inv.end, assessment_status=inv.assessment_status.value,
        lead_professional=inv.lead_professional,
    )


def child_out(v: VisibleChild, redirected_from: str | None) -> ChildOut:
    names = v.names if isinstance(v.names, ChildNames) else None
    where = v.whereabouts if isinstance(v.whereabouts, Whereabouts) else None
    shown = set(v.fields_shown)
    return ChildOut(
        child_id=v.child_id or "",
        redirected_from=redirected_from,
        names=None if names is None else NamesOut(
            given_name=names.given_name, family_name=names.family_name,
            middle_names=names.middle_names, preferred_name=names.preferred_name,
            former_family_names=list(names.former_family_names)),
        gender=v.gender,
        date_of_birth=date.fromisoformat(v.date_of_birth) if v.date_of_birth else None,
        shielded=v.shielded,
        request_contact=v.request_contact,
        whereabouts=None if where is None else WhereaboutsOut(
            state=where.state.value,
            address=None if where.address is None else AddressOut(
                lines=list(where.address.lines), town=where.address.town,
                postcode=where.address.postcode)),
        nhs_number=v.nhs_number,
        upn=v.upn,
        carers=[CarerOut(name=c.name, relationship=c.relationship, phone=c.phone,
                         parental_responsibility=c.parental_responsibility)
                for c in v.carers if isinstance(c, Carer)] if "carers" in shown else None,
        education_setting=_involvement(v.education_setting) if v.education_setting else None,
        gp_practice=_involvement(v.gp_practice) if v.gp_practice else None,
        involvements=([_involvement(i) for i in v.involvements]
                      if "involvements" in shown or v.involvements else None),
        provenance=dict(v.provenance) if v.provenance else None,
        fields_shown=list(v.fields_shown),
    )


@router.post("/search", response_model=SearchOut, response_model_exclude_none=True)
@shares_sign_in_transaction
def search_children(body: SearchIn, request: Request, searcher: Searcher) -> Response:
    """Find a child. At most ten results, best first, each with a confidence in 0..1; an empty
    list when nothing matches. Criteria must make one of the accepted combinations (a 422
    names them); a stated ``reason`` is required. Every search is audited."""
    actor = searcher.principal()  # the sign-in check, in this thread: refused here, or signed in
    rt = runtime(request)
    criteria = SearchCriteria(
        given_name=body.given_name, family_name=body.family_name,
        date_of_birth=body.date_of_birth, born_from=body.born_from, born_to=body.born_to,
        sex=SEX_CODES[body.sex] if body.sex else None, postcode=body.postcode, town=body.town,
        nhs_number=body.nhs_number, upn=body.upn,
    )
    # the sign-in check's transaction goes on: its session look-up and this search are one
    # transaction on one connection; the search commits it and then its audit entry, with
    # concurrent searches' entries (trail.append_read)
    with rt.request_transaction(request) as conn:
        hits = search_service.search(
            conn, viewer=viewer_for(actor), criteria=criteria, reason=body.reason,
            ctx=audit_context(request, actor), linkage_dir=rt.settings.effective_linkage_dir,
            now=rt.clock(),
        )
    out = SearchOut(results=[SearchResultOut(**h.__dict__, confidence_band=band(h.confidence))
                             for h in hits])
    # serialised once, here: returned as a model, FastAPI would validate it again first
    return Response(out.model_dump_json(exclude_none=True), media_type="application/json")


@router.get("/{child_id}", response_model_exclude_none=True,
            responses={404: {"description": view_service.REFUSAL}})
def view_child(
    child_id: str,
    request: Request,
    actor: Viewer,
    reason: Annotated[str | None, Header(
        alias=REASON_HEADER,
        description=("Why you are opening this record (required; audited, never logged). "
                     "UTF-8, percent-encoded where not ASCII."),
    )] = None,
) -> ChildOut:
    """Open one child record. Needs a search of yours within the last 24 hours (configurable:
    ``CONTACTPOINT_VIEW_WINDOW_HOURS``) that returned
    this child, or an involvement of your organisation with the child; anything else (an
    unknown id included) is refused with the same 404. A merged id answers with the
    surviving child. The fields shown follow the visibility policy; every view is audited."""
    rt = runtime(request)
    with rt.transaction() as conn:
        outcome = view_service.open_record(
            conn, actor, child_id, reason=unquote(reason) if reason else None,
            ctx=audit_context(request, actor), now=rt.clock(),
            window=timedelta(hours=rt.settings.view_window_hours),
        )
    if outcome.child is None:
        raise view_service.ViewRefused(view_service.REFUSAL)
    return child_out(outcome.child, outcome.redirected_from)


@router.post(
    "/{child_id}/override", response_model_exclude_none=True,
    summary="Override a child's shield for one viewing (break-glass); step-up required",
    responses={
        401: {"description": "Sign in again (password and code): POST /api/auth/reauth."},
        403: {"description": "No record:shield:override grant, or a machine client."},
        404: {"description": view_service.REFUSAL},
        409: {"description": "The child is not shielded: no override is needed."},
        422: {"description": "A reason is required."},
    })
def override_shield(child_id: str, body: OverrideIn, request: Request,
                    actor: Overrider) -> OverrideOut:
    """Show the full record of a shielded child once, to a person holding the
    ``record:shield:override`` grant (given by their council team), who has signed in again
    within the last 5 minutes and states a reason. The override is audited and opens an
    investigation for the child's responsible council, in the same transaction; the next
    ordinary view is restricted again. The view's anti-browsing rule applies (the same 404)."""
    rt = runtime(request)
    with rt.transaction() as conn:
        outcome = override_service.override_record(
            conn, actor, child_id, reason=body.reason, now=rt.clock(),
            request_id=request_id(request),
            window=timedelta(hours=rt.settings.view_window_hours),
        )
    child, investigation = override_service.shown(outcome)
    shown = child_out(child, outcome.redirected_from)
    return OverrideOut(**shown.model_dump(), investigation_id=investigation.id)
