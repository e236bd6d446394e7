"""Searching the audit trail (the auditor's pages use this), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection

from contactpoint.audit import trail
from contactpoint.audit.search import AuditQuery, Reader, search
from contactpoint.domain.identifiers import format_child_id
from contactpoint.errors import ValidationFailed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHILD = format_child_id(424242)
OTHER_CHILD = format_child_id(424243)


def reader(at: datetime = T0 + timedelta(days=30)) -> Reader:
    return Reader(actor="user:auditor.one", organisation="AUD", request_id="r1", at=at)


@pytest.fixture
def events(connection: Connection) -> Connection:
    def add(days: int, **kw: str) -> None:
        trail.append(connection, action=trail.AuditAction.CHILD_VIEW,
                     organisation=kw.pop("organisation", "LA1"), at=T0 + timedelta(days=days),
                     **kw)  # type: ignore[arg-type]

    add(0, actor="user:alice", subject=f"child:{CHILD}")
    add(1, actor="user:bob", subject=f"child:{CHILD}", organisation="LA2")
    add(2, actor="user:alice", subject=f"child:{OTHER_CHILD}")
    add(3, actor="cli:ops", subject="user:alice")  # something done to alice's account
    return connection


def test_by_child_newest_first(events: Connection) -> None:
    found = search(events, AuditQuery(child_id=CHILD), reader())
    assert [e.actor for e in found if e.subject == f"child:{CHILD}"][:2] == ["user:bob",
                                                                             "user:alice"]
    assert all(e.subject == f"child:{CHILD}" for e in found)


def test_by_user_finds_what_they_did_and_what_was_done_to_them(events: Connection) -> None:
    found = search(events, AuditQuery(username=" Alice "), reader())
    mine = [e for e in found if e.at >= T0]
    assert {(e.actor, e.subject) for e in mine} >= {
        ("user:alice", f"child:{CHILD}"), ("user:alice", f"child:{OTHER_CHILD}"),
        ("cli:ops", "user:alice"),
    }
    assert all("alice" in f"{e.actor}{e.subject}" for e in found)


def test_by_organisation_and_time_range(events: Connection) -> None:
    found = search(
        events,
        AuditQuery(organisation="LA1", since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)),
        reader(),
    )
    assert [e.subject for e in found] == [f"child:{OTHER_CHILD}"]


def test_each_search_is_itself_audited(events: Connection) -> None:
    search(events, AuditQuery(child_id=CHILD), reader())
    last = trail.recent(events, last=1)[0]
    assert last.action == trail.AuditAction.AUDIT_READ
    assert last.actor == "user:auditor.one"
    assert last.details == {"criteria": {"child_id": CHILD}, "results": 2}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (AuditQuery(), "give a child id"),
        (AuditQuery(child_id="12345"), "child id: a child id is 12 digits"),
        (AuditQuery(child_id="000000424240"), "check digit"),
        (AuditQuery(since=T0, until=T0), "before its end"),
    ],
)
def test_bad_queries_are_refused_with_the_reason(
    connection: Connection, query: AuditQuery, message: str
) -> None:
    before = trail.head(connection)
    with pytest.raises(ValidationFailed, match=message):
        search(connection, query, reader())
    assert trail.head(connection) == before  # a refused search reads nothing, writes nothing
