"""Council protection and responsibility over JSON: shields (step-up), brokered contact,
per-user grants, investigations, children missing education (JSON and CSV), the council work
list and the national report of children with no council. Every change and every report is
audited by its service; a refusal about a child never says whether the child exists."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access.models import Principal
from contactpoint.access.permissions import GrantablePermission, Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.api.security import Require, signed_in
from contactpoint.council import contact, grants, investigations, missing_education, shields
from contactpoint.council import worklist as work
from contactpoint.council.common import find_child, no_such_child
from contactpoint.council.policy import council_refusal
from contactpoint.domain.council import ContactStatus, InvestigationOutcome
from contactpoint.domain.education import DEFAULT_GRACE_DAYS
from contactpoint.linking import responsibility

router = APIRouter(tags=["council"], dependencies=[Depends(signed_in)])

Shielder = Annotated[Principal, Depends(Require(Permission.RECORD_SHIELD_SET, recent_auth=True))]
ShieldReader = Annotated[Principal, Depends(Require(Permission.RECORD_SHIELD_SET))]
Requester = Annotated[Principal, Depends(Require(Permission.RECORD_CONTACT_REQUEST))]
Broker = Annotated[Principal, Depends(Require(Permission.RECORD_CONTACT_BROKER))]
GrantManager = Annotated[
    Principal, Depends(Require(Permission.ADMIN_GRANT_MANAGE, recent_auth=True))]
GrantReader = Annotated[Principal, Depends(Require(Permission.ADMIN_GRANT_MANAGE))]
Investigator = Annotated[Principal, Depends(Require(Permission.COUNCIL_INVESTIGATION_DECIDE))]
Auditor = Annotated[Principal, Depends(Require(Permission.AUDIT_INVESTIGATION_READ))]
CmeReader = Annotated[Principal, Depends(Require(Permission.COUNCIL_CME_REPORT))]
Team = Annotated[Principal, Depends(Require(Permission.COUNCIL_WORKLIST_READ))]
National = Annotated[Principal, Depends(Require(Permission.NATIONAL_RESPONSIBILITY_REPORT))]


class ShieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
    review_on: date


class UnshieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
    contact_details: str = Field(min_length=1, max_length=500)


class ContactDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["accept", "decline"]
    reason: str | None = Field(default=None, max_length=500)


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    permission: GrantablePermission
    reason: str = Field(min_length=1, max_length=500)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: InvestigationOutcome
    reason: str | None = Field(default=None, max_length=500)


def _shield(s: shields.Shield) -> dict[str, Any]:
    d = asdict(s)
    for k in ("review_on", "set_at", "removed_at"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    return d


def _plain(obj: Any) -> dict[str, Any]:
    d = asdict(obj)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}


def _requester_view(c: contact.ContactRequest) -> dict[str, Any]:
    return _plain(contact.requester_view(c))


# -- shields --------------------------------------------------------------------------------


@router.post("/api/children/{child_id}/shield",
             summary="Shield a child of your council (or renew its shield); step-up required")
def set_shield(child_id: str, body: ShieldIn, request: Request,
               actor: Shielder) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        s = shields.set_shield(conn, child_id, actor, reason=body.reason,
                               review_on=body.review_on, now=rt.clock(),
                               request_id=request_id(request))
    return _shield(s)


@router.post("/api/children/{child_id}/unshield",
             summary="Remove a child's shield, with a reason; step-up required")
def remove_shield(child_id: str, body: UnshieldIn, request: Request,
                  actor: Shielder) -> list[dict[str, Any]]:
    rt = runtime(request)
    with rt.transaction() as conn:
        rows = shields.remove_shield(conn, child_id, actor, reason=body.reason, now=rt.clock(),
                                     request_id=request_id(request))
    return [_shield(s) for s in rows]


@router.get("/api/children/{child_id}/shields", summary="A child's shield history")
def shield_history(child_id: str, request: Request, actor: ShieldReader) -> list[dict[str, Any]]:
    with runtime(request).engine.connect() as conn:
        return [_shield(s) for s in shields.history(conn, child_id, actor)]


@router.get("/api/children/{child_id}/responsibility",
            summary="The responsible council and its evidence (that council's team)")
def child_responsibility(child_id: str, request: Request, actor: Team) -> dict[str, Any]:
    with runtime(request).engine.connect() as conn:
        row = find_child(conn, child_id)
        if council_refusal(actor, row.owning_la, Permission.COUNCIL_WORKLIST_READ) is not None:
            raise no_such_child()
        found = responsibility.evidence_of(conn, row.key)
    evidence = [e.as_dict() for e in found.evidence] if found else []
    return {"child_id": row.child_id, "la_code": row.owning_la, "evidence": evidence}


# -- brokered contact --------------------------------------------------------------------------


@router.post("/api/children/{child_id}/contact-requests",
             summary="Ask the responsible council to put you in touch about a shielded child")
def request_contact(child_id: str, body: ContactIn, request: Request,
                    actor: Requester) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        c = contact.request_contact(conn, child_id, actor, reason=body.reason,
                                    contact_details=body.contact_details, now=rt.clock(),
                                    request_id=request_id(request))
    return _requester_view(c)


@router.get("/api/contact-requests", summary="The contact requests you made, with their status")
def my_contact_requests(request: Request, actor: Requester) -> list[dict[str, Any]]:
    with runtime(request).engine.connect() as conn:
        return [_requester_view(c) for c in contact.mine(conn, actor)]


@router.get("/api/council/contact-requests", summary="Contact requests for your council")
def council_contact_requests(request: Request, actor: Broker,
                             status: ContactStatus | None = None) -> list[dict[str, Any]]:
    with runtime(request).engine.connect() as conn:
        return [_plain(c) for c in contact.for_council(conn, actor, status=status)]


@router.post("/api/council/contact-requests/{request_no}/decision",
             summary="Accept (pass the practitioner's details on) or decline with a reason")
def decide_contact(request_no: int, body: ContactDecisionIn, request: Request,
                   actor: Broker) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        c = contact.decide(conn, request_no, actor, accept=body.outcome == "accept",
                           reason=body.reason, now=rt.clock(), request_id=request_id(request))
    return _plain(c)


# -- grants and investigations --------------------------------------------------------------


@router.get("/api/council/grants", summary="Per-user grants held in your council area")
def list_grants(request: Request, actor: GrantReader) -> list[dict[str, Any]]:
    with runtime(request).engine.connect() as conn:
        return [_plain(g) for g in grants.list_for_area(conn, actor)]


@router.post("/api/council/grants", summary="Grant a named user a permission; step-up required")
def add_grant(body: GrantIn, request: Request, actor: GrantManager) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        g = grants.grant(conn, actor, body.username, body.permission, reason=body.reason,
                         now=rt.clock(), request_id=request_id(request))
    return _plain(g)


@router.post("/api/council/grants/{grant_id}/revoke", summary="Revoke a grant; step-up required")
def revoke_grant(grant_id: int, request: Request, actor: GrantManager) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        g = grants.revoke(conn, actor, grant_id, now=rt.clock(), request_id=request_id(request))
    return _plain(g)


@router.get("/api/council/investigations", summary="Investigations for your council")
def council_investigations(request: Request, actor: Investigator) -> list[dict[str, Any]]:
    with runtime(request).engine.connect() as conn:
        return [_plain(i) for i in investigations.for_team(conn, actor)]


@router.post("/api/council/investigations/{investigation_id}/outcome",
             summary="Record an investigation's outcome (justified, referred, disciplinary)")
def investigation_outcome(investigation_id: int, body: OutcomeIn, request: Request,
                          actor: Investigator) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        i = investigations.record_outcome(conn, investigation_id, actor, body.outcome,
                                          reason=body.reason, now=rt.clock(),
                                          request_id=request_id(request))
    return _plain(i)


@router.get("/api/audit/investigations", summary="Every investigation and its outcome (auditors)")
def audit_investigations(request: Request, actor: Auditor) -> list[dict[str, Any]]:
    rt = runtime(request)
    with rt.transaction() as conn:
        return [_plain(i) for i in investigations.for_auditor(
            conn, actor, now=rt.clock(), request_id=request_id(request))]


# -- children missing education, work list, national report ---------------------------------

Grace = Annotated[int, Query(ge=0, le=365)]


def _cme(request: Request, actor: Principal, on: date | None, grace_days: int,
         export: bool) -> list[missing_education.MissingChild]:
    rt = runtime(request)
    now = rt.clock()
    with rt.transaction() as conn:
        return missing_education.report(conn, actor, on=on or now.date(), now=now,
                                        grace_days=grace_days, request_id=request_id(request),
                                        export=export)


@router.get("/api/council/missing-education",
            summary="Children of compulsory school age with no current education setting")
def missing_education_json(request: Request, actor: CmeReader, on: date | None = None,
                           grace_days: Grace = DEFAULT_GRACE_DAYS) -> dict[str, Any]:
    rows = _cme(request, actor, on, grace_days, export=False)
    return {"la_code": actor.organisation.la_code, "grace_days": grace_days,
            "children": [r.as_row() for r in rows]}


@router.get("/api/council/missing-education.csv", summary="The same list as CSV")
def missing_education_csv(request: Request, actor: CmeReader, on: date | None = None,
                          grace_days: Grace = DEFAULT_GRACE_DAYS) -> Response:
    rows = _cme(request, actor, on, grace_days, export=True)
    return Response(missing_education.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             'attachment; filename="missing-education.csv"'})


@router.get("/api/council/worklist", summary="Your council's work list")
def council_worklist(request: Request, actor: Team) -> dict[str, Any]:
    rt = runtime(request)
    with rt.engine.connect() as conn:
        return work.worklist(conn, actor, today=rt.clock().date())


@router.get("/api/national/unallocated-children",
            summary="Children no council is responsible for (national administrators)")
def unallocated_children(request: Request, actor: National) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        return work.unallocated(conn, actor, now=rt.clock(), request_id=request_id(request))


