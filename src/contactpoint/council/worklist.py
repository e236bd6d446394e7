"""One council team's work list: brokered-contact requests waiting, open investigations,
shield reviews due or overdue, transfers in and out, and open clerical review items touching
its children; and the national report of children no council is responsible for."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.audit.trail import AuditAction
from contactpoint.council import contact, investigations, shields
from contactpoint.council.common import audit, child_ids
from contactpoint.council.policy import council_area
from contactpoint.council.tables import child_responsibility, council_transfer
from contactpoint.db.tables import child, record_link
from contactpoint.domain.council import ContactStatus
from contactpoint.domain.linkage import ReviewStatus
from contactpoint.errors import PermissionDenied
from contactpoint.linking.tables import review_item

TRANSFER_DAYS = 90


def transfers(conn: Connection, la_code: str, *, since: date) -> list[dict[str, Any]]:
    """Transfers into and out of the council since ``since``, newest first."""
    t = council_transfer.c
    start = datetime.combine(since, time.min, tzinfo=UTC)
    rows = conn.execute(
        select(t.id, t.child_key, t.from_la, t.to_la, t.at, t.evidence)
        .where(or_(t.from_la == la_code, t.to_la == la_code), t.at >= start)
        .order_by(t.at.desc(), t.id.desc())).all()
    ids = child_ids(conn, {int(r.child_key) for r in rows})
    out = []
    for r in rows:
        evidence = r.evidence if isinstance(r.evidence, list) else []
        out.append({"id": int(r.id), "child_id": ids[int(r.child_key)],
                    "direction": "in" if r.to_la == la_code else "out",
                    "from_la": r.from_la, "to_la": r.to_la, "at": r.at.isoformat(),
                    "evidence": evidence[0]["kind"] if evidence else None})
    return out


def review_items(conn: Connection, la_code: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """Open clerical review items with a record on one of the council's children."""
    mine = select(child.c.id).where(child.c.owning_la == la_code)
    on_mine = select(record_link.c.record_key).where(record_link.c.child_key.in_(mine))
    r = review_item.c
    rows = conn.execute(
        select(r.id, r.cause, r.match_probability, r.created_at)
        .where(r.status == ReviewStatus.OPEN,
               or_(r.child_key.in_(mine), r.record_key_l.in_(on_mine),
                   r.record_key_r.in_(on_mine)))
        .order_by(r.id).limit(limit)).all()
    return [{"id": int(x.id), "cause": x.cause, "match_probability": x.match_probability,
             "created_at": x.created_at.isoformat()} for x in rows]


def worklist(conn: Connection, actor: Principal, *, today: date,
             notice_days: int = 28) -> dict[str, Any]:
    area = council_area(actor)
    if area is None or not actor.has(Permission.COUNCIL_WORKLIST_READ):
        raise PermissionDenied("only a council team has a work list")
    return {
        "la_code": area,
        "contact_requests": [
            {"id": c.id, "child_id": c.child_id, "requester": c.requester,
             "requester_organisation": c.requester_organisation, "reason": c.reason,
             "created_at": c.created_at.isoformat()}
            for c in contact.for_council(conn, actor, status=ContactStatus.PENDING)],
        "investigations": [
            {"id": i.id, "child_id": i.child_id, "user": i.username,
             "organisation": i.organisation, "reason": i.reason,
             "opened_at": i.opened_at.isoformat()}
            for i in investigations.for_council(conn, area, open_only=True)],
        "shield_reviews": [
            {"child_id": s.child_id, "shield_id": s.shield_id,
             "review_on": s.review_on.isoformat(), "state": s.state.value}
            for s in shields.reviews(conn, area, today, notice_days=notice_days)],
        "transfers": transfers(conn, area, since=today - timedelta(days=TRANSFER_DAYS)),
        "review_items": review_items(conn, area),
    }


def unallocated(conn: Connection, actor: Principal, *, now: datetime, limit: int = 1000,
                request_id: str | None = None) -> dict[str, Any]:
    """The national report: live children no council is responsible for (no evidence)."""
    if not actor.has(Permission.NATIONAL_RESPONSIBILITY_REPORT):
        raise PermissionDenied("not permitted")
    base = (select(child.c.child_id).where(child.c.status == "active",
                                           child.c.owning_la.is_(None)))
    total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    ids = list(conn.execute(base.order_by(child.c.id).limit(limit)).scalars())
    considered = int(conn.execute(
        select(func.count()).select_from(child_responsibility)).scalar_one())
    audit(conn, actor, request_id, AuditAction.UNALLOCATED_REPORT,
          subject="national:unallocated", details={"children": total}, at=now)
    return {"total": total, "children_considered": considered, "child_ids": ids,
            "truncated": total > len(ids)}
