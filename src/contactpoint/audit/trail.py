"""Write the audit trail: :func:`append` adds one event to the hash chain.

``append`` runs in the caller's transaction and never commits: the event commits or rolls back
with the action it records. It takes the chain-head lock (the single ``audit_head`` row), so
concurrent appenders extend the chain one transaction at a time; keep the transaction short
after appending (append last, then commit), because other appenders wait for it to end. On
PostgreSQL the whole append is one statement and the server computes the entry's hash under
the lock: the lock is held over that one round trip, the caller's return to its COMMIT and
the commit (ADR 0006).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy import Connection, insert, select, text, update

from contactpoint.audit import chain
from contactpoint.audit.tables import audit_child, audit_event, audit_head
from contactpoint.db.base import utcnow
from contactpoint.errors import AuditChainBroken, ValidationFailed


class AuditAction(StrEnum):
    """What happened, named ``scope:resource:action``."""

    SIGN_IN = "auth:session:sign_in"
    SIGN_IN_FAILED = "auth:session:sign_in_failed"
    SIGN_OUT = "auth:session:sign_out"
    STEP_UP = "auth:session:step_up"
    ACCOUNT_LOCKED = "auth:account:locked"
    ACCOUNT_UNLOCKED = "auth:account:unlocked"
    ACCOUNT_SUSPENDED = "auth:account:suspended"
    ENROLMENT = "auth:account:enrol"
    ACCESS_REFUSED = "auth:access:refused"
    PASSWORD_CHANGE = "auth:account:password_change"  # noqa: S105 (an event name)
    TOKEN_ISSUED = "auth:client:token_issued"  # noqa: S105 (an event name)
    USER_CREATE = "admin:user:create"
    USER_UPDATE = "admin:user:update"
    USER_SUSPEND = "admin:user:suspend"
    ROLE_GRANT = "admin:user:role_grant"
    MFA_RESET = "admin:user:mfa_reset"
    ORG_CREATE = "admin:org:create"
    ORG_UPDATE = "admin:org:update"
    CLIENT_CREATE = "admin:client:create"
    CLIENT_UPDATE = "admin:client:update"
    ORG_CODE_ADD = "admin:org:code_add"
    ORG_CODE_REMOVE = "admin:org:code_remove"
    CHILD_SEARCH = "record:child:search"
    CHILD_VIEW = "record:child:view"
    CHILD_CHANGE = "record:child:change"
    SUBJECT_ACCESS = "record:child:subject_access"
    INVOLVEMENT_RECORD = "record:involvement:record"
    INVOLVEMENT_UPDATE = "record:involvement:update"
    INVOLVEMENT_CEASE = "record:involvement:cease"
    SHIELD_SET = "record:shield:set"
    SHIELD_OVERRIDE = "record:shield:override"
    EXPORT = "record:links:export"
    SENSITIVE_DISCLOSE = "record:sensitive_sources:disclose"
    IMPORT = "feed:extract:import"
    IMPORT_REFUSED = "feed:extract:refused"
    LINK_RUN = "linkage:run:complete"
    MERGE = "linkage:child:merge"
    UNMERGE = "linkage:child:unmerge"
    REVIEW_DECISION = "linkage:review:decide"
    REVIEW_VIEW = "linkage:review:view"
    AUDIT_VERIFY = "audit:chain:verify"
    AUDIT_CHECKPOINT = "audit:chain:checkpoint"
    AUDIT_READ = "audit:event:read"
    BACKUP = "system:data:backup"
    RESTORE = "system:data:restore"
    RESPONSIBILITY_TRANSFER = "council:child:transfer"
    SHIELD_REMOVE = "record:shield:remove"
    CONTACT_REQUEST = "record:contact:request"
    CONTACT_DECISION = "record:contact:decide"
    GRANT_ADD = "admin:grant:add"
    GRANT_REVOKE = "admin:grant:revoke"
    INVESTIGATION_OPEN = "council:investigation:open"
    INVESTIGATION_OUTCOME = "council:investigation:outcome"
    INVESTIGATION_LIST = "audit:investigation:list"
    CME_REPORT = "council:cme:report"
    UNALLOCATED_REPORT = "national:responsibility:report"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    action: str
    actor: str | None
    organisation: str | None
    reason: str | None
    request_id: str | None
    subject: str | None
    details: Mapping[str, Any] = field(repr=False)
    prev_hash: str
    entry_hash: str


class _Fields(TypedDict):
    """An entry's hashed fields but its sequence number, as ``chain.canonical_parts`` takes them."""

    at: str
    action: str
    actor: str | None
    organisation: str | None
    reason: str | None
    request_id: str | None
    subject: str | None
    details: str


_LIMITS = {"actor": 128, "organisation": 64, "request_id": 64, "subject": 128}
CHILD_SUBJECT_PREFIX = "child:"


def child_subject(child_id: str) -> str:
    """The one way a child is named as an audit subject: ``child:<id>``."""
    return f"{CHILD_SUBJECT_PREFIX}{child_id}"


def append(
    conn: Connection,
    *,
    action: AuditAction,
    actor: str | None,
    organisation: str | None,
    reason: str | None = None,
    request_id: str | None = None,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    children: Iterable[str] = (),
    commit: bool = False,
) -> AuditEntry:
    """Append one event to the chain inside the caller's transaction (never commits, unless
    ``commit``).

    ``children``: child ids the event returned or showed (a search's results); they, and the
    child named by a ``child:<id>`` subject, are indexed in ``audit_child``.

    ``commit``: the event is the transaction's last statement and the caller's transaction
    ends with it: it is committed here, with the event. On PostgreSQL the append and the COMMIT
    go to the server together (psycopg's pipeline mode, one round trip), so the chain-head row
    lock is held for the server's time alone, never while this process waits for its GIL
    between the two (with 20 concurrent searches that wait was the chain's queue)."""
    action = AuditAction(action)
    for name, value in (
        ("actor", actor),
        ("organisation", organisation),
        ("request_id", request_id),
        ("subject", subject),
    ):
        if value is not None and len(value) > _LIMITS[name]:
            raise ValidationFailed(f"audit {name} longer than {_LIMITS[name]} characters")
    at_text = chain.canonical_time(at if at is not None else utcnow())  # refuses naive times
    when = datetime.fromisoformat(at_text)
    details_text = chain.canonical_details(details)

    indexed = set(children)
    if subject is not None and subject.startswith(CHILD_SUBJECT_PREFIX):
        indexed.add(subject[len(CHILD_SUBJECT_PREFIX):])
    fields: _Fields = {"at": at_text, "action": action.value, "actor": actor,
                       "organisation": organisation, "reason": reason,
                       "request_id": request_id, "subject": subject, "details": details_text}
    if conn.dialect.name == "postgresql":
        seq, prev_hash, digest = _append_in_database(conn, fields, when, sorted(indexed),
                                                     commit=commit)
    else:
        seq, prev_hash, digest = _append_here(conn, fields, when, sorted(indexed))
        if commit:
            conn.commit()
    return AuditEntry(seq=seq, at=when, action=action.value, actor=actor,
                      organisation=organisation, reason=reason, request_id=request_id,
                      subject=subject, details=dict(details or {}), prev_hash=prev_hash,
                      entry_hash=digest)


_NO_HEAD = "audit chain head row is missing (run `contactpoint db upgrade`)"


def _take_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head and take the next sequence number (one statement)."""
    head = conn.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(seq=audit_head.c.seq + 1)
        .returning(audit_head.c.seq, audit_head.c.head_hash)
    ).one_or_none()
    if head is None:
        raise AuditChainBroken(_NO_HEAD)
    return int(head.seq), str(head.head_hash)


def _append_here(
    conn: Connection, fields: _Fields, when: datetime, children: list[str]
) -> tuple[int, str, str]:
    """SQLite (one writer at a time anyway): lock, hash in Python, write; three statements."""
    seq, prev_hash = _take_head(conn)
    digest = chain.entry_hash(prev_hash, chain.canonical_entry(seq=seq, **fields))
    conn.execute(insert(audit_event).values(
        seq=seq, prev_hash=prev_hash, entry_hash=digest, **{**fields, "at": when}))
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(head_hash=digest))
    if children:
        conn.execute(insert(audit_child), [{"child_id": c, "seq": seq} for c in children])
    return seq, prev_hash, digest


# The whole append as ONE statement, finished by the server under the chain-head lock: the
# row lock is taken (FOR UPDATE), the entry's hash is SHA-256(prev || before || seq || after)
# computed by PostgreSQL from the canonical bytes Python prepared around the sequence number
# (chain.canonical_parts), the event, its child index rows and the new head are written. No
# Python hashing and no further round trip happen under the lock before the caller's COMMIT
# (ADR 0006).
_APPEND_SQL = text("""
WITH old AS (
    SELECT seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE
), head AS (
    UPDATE audit_head AS h
    SET seq = old.seq + 1,
        head_hash = encode(sha256(decode(old.head_hash, 'hex') || :before
                                  || convert_to((old.seq + 1)::text, 'UTF8') || :after), 'hex')
    FROM old
    WHERE h.id = 1
    RETURNING h.seq, old.head_hash AS prev_hash, h.head_hash AS entry_hash
), event AS (
    INSERT INTO audit_event (seq, at, action, actor, organisation, reason, request_id,
                             subject, details, prev_hash, entry_hash)
    SELECT head.seq, :at, :action, :actor, :organisation, :reason, :request_id, :subject,
           :details, head.prev_hash, head.entry_hash
    FROM head
), indexed AS (
    INSERT INTO audit_child (child_id, seq)
    SELECT c.child_id, head.seq FROM head, unnest(CAST(:children AS text[])) AS c(child_id)
)
SELECT seq, prev_hash, entry_hash FROM head
""")


def _append_in_database(
    conn: Connection, fields: _Fields, when: datetime, children: list[str], *, commit: bool
) -> tuple[int, str, str]:
    """PostgreSQL: one round trip, the hash computed under the lock by the server; with
    ``commit``, the COMMIT in the same round trip."""
    before, after = chain.canonical_parts(**fields)
    params = {**fields, "at": when, "before": before, "after": after, "children": children}
    row = (_append_and_commit(conn, params) if commit
           else conn.execute(_APPEND_SQL, params).one_or_none())
    if row is None:
        raise AuditChainBroken(_NO_HEAD)
    seq, prev_hash, entry_hash = row
    return int(seq), str(prev_hash), str(entry_hash)


_APPEND_DRIVER_SQL: dict[str, str] = {}  # _APPEND_SQL in the driver's parameter style


def _append_and_commit(conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The append and the COMMIT sent together (psycopg pipeline mode): one round trip. If the
    append fails the server skips the COMMIT and the error is raised here; the caller's unit of
    work rolls back as usual. SQLAlchemy's own commit afterwards finds the driver's
    transaction closed (psycopg sends nothing) and only ends its bookkeeping."""
    driver = conn.connection.driver_connection
    key = conn.dialect.name
    sql = _APPEND_DRIVER_SQL.get(key)
    if sql is None:
        sql = _APPEND_DRIVER_SQL[key] = str(_APPEND_SQL.compile(dialect=conn.dialect))
    with driver.pipeline():  # type: ignore[union-attr]
        cursor = driver.cursor()  # type: ignore[union-attr]
        cursor.execute(sql, params)
        driver.commit()  # type: ignore[union-attr]
    row = cursor.fetchone()
    conn.commit()
    return None if row is None else tuple(row)


def head(conn: Connection) -> tuple[int, str]:
    """The chain head as recorded in the head row: (last sequence number, its hash)."""
    row = conn.execute(select(audit_head.c.seq, audit_head.c.head_hash)).one()
    return int(row.seq), str(row.head_hash)


def entry_from_row(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=row.at,
        action=row.action,
        actor=row.actor,
        organisation=row.organisation,
        reason=row.reason,
        request_id=row.request_id,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def recent(conn: Connection, *, last: int = 20) -> list[AuditEntry]:
    """The last ``last`` events, oldest first."""
    rows = conn.execute(
        select(audit_event).order_by(audit_event.c.seq.desc()).limit(max(0, last))
    ).all()
    return [entry_from_row(row) for row in reversed(rows)]


def for_subject(conn: Connection, subject: str, *, limit: int = 1000) -> list[AuditEntry]:
    """Events about one subject (e.g. a child id), oldest first: who looked, when, why."""
    rows = conn.execute(
        select(audit_event)
        .where(audit_event.c.subject == subject)
        .order_by(audit_event.c.seq)
        .limit(limit)
    ).all()
    return [entry_from_row(row) for row in rows]
