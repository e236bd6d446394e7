"""Brokered contact: a practitioner who found a shielded child asks to be put in touch, saying
why; the responsible council's team accepts (the practitioner's contact details are passed on
to the child's family or lead professional; nothing of the child's goes back) or declines with
a reason. Both sides see the status.

A request about an unknown child, a child that is not shielded, or one with no responsible
council is refused with the very same 404 as any other, so the refusal says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.access.tables import app_user, organisation
from contactpoint.audit.trail import AuditAction
from contactpoint.council.common import audit, find_child, no_such_child
from contactpoint.council.policy import council_area, council_refusal
from contactpoint.council.tables import contact_request
from contactpoint.db.tables import child
from contactpoint.domain.council import ContactStatus
from contactpoint.errors import Conflict, NotFound, ReasonRequired


@dataclass(frozen=True)
class ContactRequest:
    id: int
    child_id: str
    requester: str
    requester_organisation: str
    la_code: str | None
    reason: str
    contact_details: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True)
class RequesterView:
    """What the practitioner who asked sees of their request: its status and the council's
    answer, nothing of the child's (the JSON API and the pages show exactly this)."""

    id: int
    child_id: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decision_reason: str | None


def requester_view(c: ContactRequest) -> RequesterView:
    return RequesterView(c.id, c.child_id, c.status, c.created_at, c.decided_at,
                         c.decision_reason)


def request_contact(conn: Connection, child_id: str, actor: Principal, *, reason: str | None,
                    contact_details: str | None, now: datetime,
                    request_id: str | None = None) -> ContactRequest:
    if not reason or not reason.strip():
        raise ReasonRequired("a reason is required")
    if not contact_details or not contact_details.strip():
        raise ReasonRequired("your contact details are required")
    if actor.kind != "user" or not actor.has(Permission.RECORD_CONTACT_REQUEST):
        raise no_such_child()
    try:
        row = find_child(conn, child_id)
    except NotFound:
        raise no_such_child() from None
    if not row.shielded or row.owning_la is None or row.status != "active":
        raise no_such_child()
    rid = int(conn.execute(insert(contact_request).values(
        child_key=row.key, requester_id=actor.id, la_code=row.owning_la, reason=reason.strip(),
        contact_details=contact_details.strip(), status=ContactStatus.PENDING, created_at=now,
    ).returning(contact_request.c.id)).scalar_one())
    audit(conn, actor, request_id, AuditAction.CONTACT_REQUEST,
          reason=reason.strip(), subject=f"child:{row.child_id}",
          details={"contact_request": rid, "la_code": row.owning_la}, at=now)
    return _list(conn, [contact_request.c.id == rid])[0]


def _list(conn: Connection, where: list[object]) -> list[ContactRequest]:
    r = contact_request.c
    stmt = (select(contact_request, child.c.child_id, app_user.c.username,
                   organisation.c.name.label("org_name"))
            .join(child, child.c.id == r.child_key).join(app_user, app_user.c.id == r.requester_id)
            .join(organisation, organisation.c.id == app_user.c.organisation_id)
            .order_by(r.id))
    for w in where:
        stmt = stmt.where(w)  # type: ignore[arg-type]
    return [ContactRequest(int(x.id), x.child_id, x.username, x.org_name, x.la_code, x.reason,
                           x.contact_details, x.status, x.created_at, x.decided_at,
                           x.decision_reason) for x in conn.execute(stmt)]


def mine(conn: Connection, actor: Principal) -> list[ContactRequest]:
    """The requests the actor made (the practitioner's side)."""
    return _list(conn, [contact_request.c.requester_id == actor.id])


def for_council(conn: Connection, actor: Principal, *,
                status: ContactStatus | None = None) -> list[ContactRequest]:
    area = council_area(actor)
    if area is None:
        return []
    where: list[object] = [contact_request.c.la_code == area]
    if status is not None:
        where.append(contact_request.c.status == status)
    return _list(conn, where)


def one_for_council(conn: Connection, request_no: int, actor: Principal) -> ContactRequest:
    """One request, for the responsible council's team; another's is not there for you."""
    found = _list(conn, [contact_request.c.id == request_no])
    if not found or council_refusal(actor, found[0].la_code,
                                    Permission.RECORD_CONTACT_BROKER) is not None:
        raise NotFound("no such contact request")
    return found[0]


def decide(conn: Connection, request_id_: int, actor: Principal, *, accept: bool,
           reason: str | None, now: datetime, request_id: str | None = None) -> ContactRequest:
    found = [one_for_council(conn, request_id_, actor)]
    if found[0].status != ContactStatus.PENDING:
        raise Conflict("this request has been decided")
    if not accept and (not reason or not reason.strip()):
        raise ReasonRequired("a reason is required to decline")
    status = ContactStatus.ACCEPTED if accept else ContactStatus.DECLINED
    conn.execute(update(contact_request).where(contact_request.c.id == request_id_).values(
        status=status, decided_by=actor.actor, decided_at=now,
        decision_reason=(reason or "").strip() or None))
    audit(conn, actor, request_id, AuditAction.CONTACT_DECISION,
          reason=reason,
          subject=f"child:{found[0].child_id}",
          details={"contact_request": request_id_, "status": status.value}, at=now)
    return _list(conn, [contact_request.c.id == request_id_])[0]
