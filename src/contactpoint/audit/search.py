"""Reading the audit trail for auditors: search by child, user, organisation and time, and the
chain's verification status. Every read is itself audited, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from contactpoint.audit.checkpoint import load_verifier_key
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.tables import audit_event
from contactpoint.audit.trail import AuditAction, AuditEntry, append, entry_from_row
from contactpoint.audit.verify import VerifyReport, verify
from contactpoint.domain.identifiers import InvalidIdentifier, format_child_id, parse_child_id
from contactpoint.errors import ValidationFailed

MAX_RESULTS = 200


@dataclass(frozen=True)
class Reader:
    """Who reads the trail (an auditor), for the entry the read leaves behind."""

    actor: str
    organisation: str | None
    request_id: str | None
    at: datetime


@dataclass(frozen=True)
class AuditQuery:
    child_id: str | None = None
    username: str | None = None
    organisation: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def criteria(self) -> dict[str, str]:
        found = {
            "child_id": self.child_id,
            "username": self.username,
            "organisation": self.organisation,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in found.items() if v}


def checked(query: AuditQuery) -> AuditQuery:
    """The query with its child id normalised; ``ValidationFailed`` naming what is wrong."""
    if not query.criteria():
        raise ValidationFailed("give a child id, a username, an organisation or a time range")
    child = query.child_id
    if child is not None:
        try:
            child = format_child_id(parse_child_id(child))
        except InvalidIdentifier as exc:
            raise ValidationFailed(f"child id: {exc}") from exc
    if query.since and query.until and query.since >= query.until:
        raise ValidationFailed("the start of the time range must be before its end")
    return AuditQuery(child, query.username, query.organisation, query.since, query.until)


def search(conn: Connection, query: AuditQuery, reader: Reader) -> list[AuditEntry]:
    """Matching events, newest first (at most ``MAX_RESULTS``); audits the read."""
    query = checked(query)
    stmt = select(audit_event)
    if query.child_id:
        stmt = stmt.where(audit_event.c.subject == f"child:{query.child_id}")
    if query.username:
        who = f"user:{query.username.strip().casefold()}"
        stmt = stmt.where(or_(audit_event.c.actor == who, audit_event.c.subject == who))
    if query.organisation:
        stmt = stmt.where(audit_event.c.organisation == query.organisation.strip())
    if query.since:
        stmt = stmt.where(audit_event.c.at >= query.since)
    if query.until:
        stmt = stmt.where(audit_event.c.at < query.until)
    rows = conn.execute(stmt.order_by(audit_event.c.seq.desc()).limit(MAX_RESULTS)).all()
    found = [entry_from_row(row) for row in rows]
    details: dict[str, Any] = {"criteria": query.criteria(), "results": len(found)}
    append(
        conn,
        action=AuditAction.AUDIT_READ,
        actor=reader.actor,
        organisation=reader.organisation,
        request_id=reader.request_id,
        details=details,
        at=reader.at,
    )
    return found


def chain_status(conn: Connection, config: AuditConfig, reader: Reader) -> VerifyReport:
    """Verify the whole chain and its checkpoints (``audit/verify.py``); audits the check."""
    report = verify(conn, key=load_verifier_key(config), checkpoint_dir=config.checkpoint_dir)
    append(
        conn,
        action=AuditAction.AUDIT_VERIFY,
        actor=reader.actor,
        organisation=reader.organisation,
        request_id=reader.request_id,
        details={"ok": report.ok, "entries": report.entries, "first_bad": report.first_bad},
        at=reader.at,
    )
    return report
