"""Write the audit trail: :func:`append` adds one event to the hash chain.

``append`` runs in the caller's transaction and never commits: the event commits or rolls back
with the action it records. It takes the chain-head lock (the single ``audit_head`` row), so
concurrent appenders extend the chain one transaction at a time; keep the transaction short
after appending (append last, then commit), because other appenders wait for it to end. On
PostgreSQL the whole append is one statement and the server computes the entry's hash under
the lock: the lock is held over that one round trip, the caller's return to its COMMIT and
the commit (ADR 0006).

:func:`append_read` audits a read (a search, a view), which changes nothing its entry must
commit with: the caller's transaction is committed first and the entry appended with the
concurrent reads' entries of this process, one transaction and one commit per group (ADR 0007).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, insert, select, text, update

from contactpoint.audit import chain
from contactpoint.audit.group import GroupCommit
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


class _Prepared(TypedDict):
    action: AuditAction
    fields: _Fields
    when: datetime
    children: list[str]


def _prepare(
    *,
    action: AuditAction,
    actor: str | None,
    organisation: str | None,
    reason: str | None,
    request_id: str | None,
    subject: str | None,
    details: Mapping[str, Any] | None,
    at: datetime | None,
    children: Iterable[str],
) -> _Prepared:
    """Check an entry's fields and build its canonical parts (nothing written)."""
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
    indexed = set(children)
    if subject is not None and subject.startswith(CHILD_SUBJECT_PREFIX):
        indexed.add(subject[len(CHILD_SUBJECT_PREFIX):])
    fields: _Fields = {"at": at_text, "action": action.value, "actor": actor,
                       "organisation": organisation, "reason": reason,
                       "request_id": request_id, "subject": subject,
                       "details": chain.canonical_details(details)}
    return {"action": action, "fields": fields, "when": datetime.fromisoformat(at_text),
            "children": sorted(indexed)}


def _entry(prepared: _Prepared, details: Mapping[str, Any] | None,
           chained: tuple[int, str, str]) -> AuditEntry:
    seq, prev_hash, digest = chained
    f = prepared["fields"]
    return AuditEntry(seq=seq, at=prepared["when"], action=f["action"], actor=f["actor"],
                      organisation=f["organisation"], reason=f["reason"],
                      request_id=f["request_id"], subject=f["subject"],
                      details=dict(details or {}), prev_hash=prev_hash, entry_hash=digest)


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
) -> AuditEntry:
    """Append one event to the chain inside the caller's transaction (never commits).

    ``children``: child ids the event returned or showed (a search's results); they, and the
    child named by a ``child:<id>`` subject, are indexed in ``audit_child``."""
    prepared = _prepare(action=action, actor=actor, organisation=organisation, reason=reason,
                        request_id=request_id, subject=subject, details=details, at=at,
                        children=children)
    if conn.dialect.name == "postgresql":
        row = conn.execute(_APPEND_SQL, _statement_parameters(prepared)).one_or_none()
        chained = _chained(row)
    else:
        chained = _append_here(conn, prepared)
    return _entry(prepared, details, chained)


def append_read(
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
) -> AuditEntry:
    """Audit a read (a search, a view): an action that changed nothing its entry must commit
    with. The caller's transaction is committed, then the entry is appended and committed, and
    only then is it returned: answer the read after this, never before (ADR 0007).

    On PostgreSQL the entry joins the entries of this process's concurrent reads: one thread
    appends the whole group in one transaction on its own connection, so the chain-head lock
    and the commit's WAL flush are paid once per group, not once per read (``audit.group``).
    If the group's write fails, every read in it gets the error and none of its entries is
    stored. On SQLite the entry is appended and committed alone."""
    prepared = _prepare(action=action, actor=actor, organisation=organisation, reason=reason,
                        request_id=request_id, subject=subject, details=details, at=at,
                        children=children)
    if conn.dialect.name == "postgresql":
        conn.commit()
        chained = _group_for(conn.engine).submit(
            _statement_parameters(prepared), lambda group: _append_group(conn, group))
    else:
        chained = _append_here(conn, prepared)
        conn.commit()
    return _entry(prepared, details, chained)


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


def _append_here(conn: Connection, prepared: _Prepared) -> tuple[int, str, str]:
    """SQLite (one writer at a time anyway): lock, hash in Python, write; three statements."""
    fields, children = prepared["fields"], prepared["children"]
    seq, prev_hash = _take_head(conn)
    digest = chain.entry_hash(prev_hash, chain.canonical_entry(seq=seq, **fields))
    conn.execute(insert(audit_event).values(
        seq=seq, prev_hash=prev_hash, entry_hash=digest, **{**fields, "at": prepared["when"]}))
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


def _statement_parameters(prepared: _Prepared) -> dict[str, Any]:
    fields = prepared["fields"]
    before, after = chain.canonical_parts(**fields)
    return {**fields, "at": prepared["when"], "before": before, "after": after,
            "children": prepared["children"]}


def _chained(row: Any) -> tuple[int, str, str]:
    if row is None:
        raise AuditChainBroken(_NO_HEAD)
    seq, prev_hash, entry_hash = row
    return int(seq), str(prev_hash), str(entry_hash)


_GROUPS: WeakKeyDictionary[Engine, GroupCommit[dict[str, Any], tuple[int, str, str]]] = (
    WeakKeyDictionary())
_GROUPS_LOCK = threading.Lock()


def _group_for(engine: Engine) -> GroupCommit[dict[str, Any], tuple[int, str, str]]:
    """This process's group commit for the audited reads of one database."""
    with _GROUPS_LOCK:
        group = _GROUPS.get(engine)
        if group is None:
            group = _GROUPS[engine] = GroupCommit(limit=_GROUP_LIMIT)
        return group


_GROUP_LIMIT = 64  # entries per transaction: the head lock's hold grows with the group
_APPEND_DRIVER_SQL: dict[str, str] = {}  # _APPEND_SQL in the driver's parameter style


def _append_group(conn: Connection, group: Sequence[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """PostgreSQL: a group's appends and one COMMIT sent together on ``conn`` (psycopg's
    pipeline mode; ``conn`` has no transaction open): one round trip, one WAL flush, the
    head lock held from the group's first append to its commit. If any append fails the
    server skips the rest and the COMMIT; the transaction is rolled back and the error
    raised, so nothing of the group is stored."""
    driver = conn.connection.driver_connection
    key = conn.dialect.name
    sql = _APPEND_DRIVER_SQL.get(key)
    if sql is None:
        sql = _APPEND_DRIVER_SQL[key] = str(_APPEND_SQL.compile(dialect=conn.dialect))
    cursors = []
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            for params in group:
                cursor = driver.cursor()  # type: ignore[union-attr]
                cursor.execute(sql, params)
                cursors.append(cursor)
            driver.commit()  # type: ignore[union-attr]
    except BaseException:
        with suppress(Exception):  # a connection that broke answers the first error, not this
            driver.rollback()  # type: ignore[union-attr]
        raise
    return [_chained(cursor.fetchone()) for cursor in cursors]


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
