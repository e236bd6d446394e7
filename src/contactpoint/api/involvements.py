"""Practitioner-recorded involvements (JSON): record, list, change, cease.

``/api/children/{child_id}/involvements``. A practitioner records their own involvement for
their organisation; colleagues in the same organisation see and manage it. Another
organisation's involvement, an unknown id and a child the user has no business with all get
the same 404 problem. The service writes the audit entries, in the request's transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import request_id, runtime
from contactpoint.api.security import Require, signed_in
from contactpoint.domain.record import AssessmentStatus, ConsentBasis, ServiceType
from contactpoint.errors import PermissionDenied, ValidationFailed
from contactpoint.involvement import service
from contactpoint.involvement.service import Details, Practitioner, Recorded

router = APIRouter(prefix="/api/children/{child_id}/involvements", tags=["involvements"],
                   dependencies=[Depends(signed_in)])

Reader = Annotated[Principal, Depends(Require(Permission.RECORD_INVOLVEMENT_READ))]
Writer = Annotated[Principal, Depends(Require(Permission.RECORD_INVOLVEMENT_WRITE))]

_NAME = Field(min_length=1, max_length=128)
_ROLE = Field(default=None, max_length=128)
_PHONE = Field(default=None, max_length=32)
_EMAIL = Field(default=None, max_length=254)


class InvolvementIn(BaseModel):
    """A practitioner's own involvement with a child: the service, how to reach them, CAF
    (assessment) status and whether they are the lead professional. A sensitive service
    (sexual health, CAMHS, substance misuse, or ``sensitive: true``) needs a consent basis."""

    model_config = ConfigDict(extra="forbid")
    service_type: ServiceType
    practitioner_name: str = _NAME
    practitioner_role: str | None = _ROLE
    practitioner_phone: str | None = _PHONE
    practitioner_email: str | None = _EMAIL
    assessment_status: AssessmentStatus = AssessmentStatus.NONE
    lead_professional: bool = False
    sensitive: bool = False
    consent_basis: ConsentBasis = ConsentBasis.NOT_GIVEN
    start: date | None = None
    end: date | None = None


class InvolvementChangeIn(BaseModel):
    """The fields to change; ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")
    service_type: ServiceType | None = None
    practitioner_name: str | None = Field(default=None, min_length=1, max_length=128)
    practitioner_role: str | None = _ROLE
    practitioner_phone: str | None = _PHONE
    practitioner_email: str | None = _EMAIL
    assessment_status: AssessmentStatus | None = None
    lead_professional: bool | None = None
    sensitive: bool | None = None
    consent_basis: ConsentBasis | None = None
    start: date | None = None
    end: date | None = None


class CeaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end: date | None = Field(default=None, description="the last day (default: today)")


class InvolvementOut(BaseModel):
    id: int
    child_id: str
    organisation: str
    status: str
    service_type: str
    practitioner_name: str
    practitioner_role: str | None
    practitioner_phone: str | None
    practitioner_email: str | None
    assessment_status: str
    lead_professional: bool
    sensitive: bool
    consent_basis: str
    start: date | None
    end: date | None
    created_at: datetime
    updated_at: datetime


_REQUIRED = frozenset({"service_type", "practitioner_name", "assessment_status",
                       "lead_professional", "sensitive", "consent_basis"})


def _out(r: Recorded) -> InvolvementOut:
    d = r.details
    return InvolvementOut(
        id=r.id, child_id=r.child_id, organisation=r.org_code, status=r.status.value,
        service_type=d.service_type.value, practitioner_name=d.practitioner_name,
        practitioner_role=d.practitioner_role, practitioner_phone=d.practitioner_phone,
        practitioner_email=d.practitioner_email, assessment_status=d.assessment_status.value,
        lead_professional=d.lead_professional, sensitive=d.sensitive,
        consent_basis=d.consent_basis.value, start=d.start, end=d.end,
        created_at=r.created_at, updated_at=r.updated_at,
    )


def practitioner(request: Request, principal: Principal) -> Practitioner:
    """Who records, from the signed-in person (the pages use it too)."""
    if principal.kind != "user":
        raise PermissionDenied("involvements are recorded by signed-in practitioners")
    return Practitioner(principal.id, principal.actor, principal.organisation.code,
                        request_id(request))


@router.get("")
def list_involvements(child_id: str, request: Request, who: Reader) -> list[InvolvementOut]:
    """Your organisation's involvements with the child, ceased ones included."""
    rt = runtime(request)
    with rt.transaction() as conn:
        found = service.organisation_involvements(conn, practitioner(request, who), child_id)
        return [_out(r) for r in found]


@router.post("", status_code=201)
def record_involvement(child_id: str, body: InvolvementIn, request: Request,
                       who: Writer) -> InvolvementOut:
    """Record your involvement with a child you found by a recent search (or whom your
    organisation is involved with already)."""
    rt = runtime(request)
    with rt.transaction() as conn:
        made = service.record(conn, practitioner(request, who), child_id,
                              Details(**body.model_dump()), now=rt.clock())
        return _out(made)


@router.get("/{involvement_id}")
def get_involvement(child_id: str, involvement_id: int, request: Request,
                    who: Reader) -> InvolvementOut:
    rt = runtime(request)
    with rt.transaction() as conn:
        return _out(service.get(conn, practitioner(request, who), child_id, involvement_id))


@router.patch("/{involvement_id}")
def change_involvement(child_id: str, involvement_id: int, body: InvolvementChangeIn,
                       request: Request, who: Writer) -> InvolvementOut:
    """Change a current involvement of your organisation."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    cleared = sorted(k for k in _REQUIRED if k in changes and changes[k] is None)
    if cleared:
        raise ValidationFailed(f"cannot be cleared: {', '.join(cleared)}")
    rt = runtime(request)
    with rt.transaction() as conn:
        return _out(service.change(conn, practitioner(request, who), child_id, involvement_id,
                                   changes, now=rt.clock()))


@router.post("/{involvement_id}/cease")
def cease_involvement(child_id: str, involvement_id: int, request: Request, who: Writer,
                      body: CeaseIn | None = None) -> InvolvementOut:
    """Mark an involvement of your organisation ceased (on ``end``, default today)."""
    rt = runtime(request)
    with rt.transaction() as conn:
        return _out(service.cease(conn, practitioner(request, who), child_id, involvement_id,
                                  end=body.end if body else None, now=rt.clock()))
