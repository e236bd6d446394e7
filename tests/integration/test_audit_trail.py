"""Appending to the trail, and the database refusing anything but appends (both backends)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from contactpoint.audit import chain, trail
from contactpoint.audit.tables import audit_checkpoint, audit_event, audit_head
from contactpoint.audit.trail import AuditAction
from contactpoint.audit.verify import verify
from contactpoint.db.engine import make_engine
from contactpoint.errors import ValidationFailed


def _append(conn: Connection, **kwargs: object) -> trail.AuditEntry:
    arguments: dict[str, object] = {
        "action": trail.AuditAction.CHILD_SEARCH,
        "actor": "user-7",
        "organisation": "LA001",
        "reason": "section 47 enquiry",
        "request_id": "req-1",
        "details": {"query": {"family_name": "Smith"}, "returned": ["CP0000000001"]},
    }
    arguments.update(kwargs)
    return trail.append(conn, **arguments)  # type: ignore[arg-type]


def test_append_chains_each_entry_to_the_one_before(connection: Connection) -> None:
    seq, head_hash = trail.head(connection)
    first = _append(connection)
    second = _append(connection, action=trail.AuditAction.CHILD_VIEW, subject="CP0000000001")
    assert (first.seq, second.seq) == (seq + 1, seq + 2)
    assert first.prev_hash == head_hash
    assert second.prev_hash == first.entry_hash
    assert trail.head(connection) == (seq + 2, second.entry_hash)
    stored = connection.execute(select(audit_event).where(audit_event.c.seq == first.seq)).one()
    assert stored.action == "record:child:search"
    assert json.loads(stored.details) == {
        "query": {"family_name": "Smith"},
        "returned": ["CP0000000001"],
    }
    assert stored.details == chain.canonical_details(first.details)
    assert stored.at == first.at
    recomputed = chain.entry_hash(
        first.prev_hash,
        chain.canonical_entry(
            seq=first.seq,
            at=chain.canonical_time(stored.at),
            action=stored.action,
            actor=stored.actor,
            organisation=stored.organisation,
            reason=stored.reason,
            request_id=stored.request_id,
            subject=stored.subject,
            details=stored.details,
        ),
    )
    assert recomputed == first.entry_hash == stored.entry_hash
    assert [e.seq for e in trail.for_subject(connection, "CP0000000001")][-1] == second.seq


def test_append_stores_the_given_time_in_utc(connection: Connection) -> None:
    at = datetime(2026, 11, 25, 16, 0, 0, 1, tzinfo=UTC)
    entry = _append(connection, at=at)
    assert trail.recent(connection, last=1)[0].at == at == entry.at


@pytest.mark.parametrize(
    "bad",
    [
        {"at": datetime(2026, 11, 25, 16, 0)},  # naive
        {"actor": "x" * 129},
        {"details": {"x": object()}},
    ],
)
def test_append_refuses_bad_input_and_writes_nothing(
    connection: Connection, bad: dict[str, object]
) -> None:
    before = trail.head(connection)
    with pytest.raises(ValidationFailed):
        _append(connection, **bad)
    assert trail.head(connection) == before


def test_unknown_action_is_refused(connection: Connection) -> None:
    with pytest.raises(ValueError, match="not a valid AuditAction"):
        _append(connection, action="record:child:peek")


def test_actions_are_scope_resource_action() -> None:
    for action in trail.AuditAction:
        assert len(action.value.split(":")) == 3, action


def test_audit_tables_have_no_foreign_keys_so_nothing_cascades() -> None:
    for table in (audit_event, audit_head, audit_checkpoint):
        assert not table.foreign_keys


def test_rolled_back_appends_leave_no_gap(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            _append(conn)
        with engine.connect() as conn:
            _append(conn)
            _append(conn)
            conn.rollback()  # the action failed: its audit events go with it
        with engine.begin() as conn:
            entry = _append(conn)
        assert entry.seq == 2
        with engine.connect() as conn:
            report = verify(conn, key=None, checkpoint_dir=None)
        assert report.ok, report.problem
        assert report.entries == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET actor = 'mallory'",
        "DELETE FROM audit_event",
        "UPDATE audit_checkpoint SET signed_checkpoint = ''",
        "DELETE FROM audit_checkpoint",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = seq - 1",
    ],
)
def test_the_database_refuses_anything_but_appends(connection: Connection, statement: str) -> None:
    _append(connection)
    connection.execute(  # a row to refuse (its content does not matter here)
        audit_checkpoint.insert().values(
            tree_size=10**12,
            root_hash="0" * 64,
            head_hash="0" * 64,
            created_at=datetime.now(UTC),
            key_id="00000000",
            signed_checkpoint="",
            frontier="[]",
        )
    )
    with connection.begin_nested() as savepoint:
        if connection.dialect.name == "postgresql":  # let the trigger, not a missing row, speak
            connection.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
        with pytest.raises(DBAPIError, match=r"append-only|may only move forward|may not be"):
            connection.exec_driver_sql(statement)
        savepoint.rollback()


def test_postgresql_truncate_is_refused_and_triggers_always_fire(
    connection: Connection, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("TRUNCATE and trigger modes are PostgreSQL's")
    for table in ("audit_event", "audit_checkpoint", "audit_head", "audit_child"):
        with connection.begin_nested() as savepoint:
            with pytest.raises(DBAPIError, match="append-only"):
                connection.exec_driver_sql(f"TRUNCATE {table}")
            savepoint.rollback()
    modes = connection.execute(
        text(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname LIKE 'audit%' AND NOT t.tgisinternal"
        )
    ).all()
    assert len(modes) == 8  # two on each append-only table (audit_child too), two on the head
    assert {mode for _, mode in modes} == {"A"}  # ALWAYS: replica mode does not skip them


def test_postgresql_app_role_may_append_but_not_change(
    connection: Connection, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    with connection.begin_nested() as outer:
        connection.exec_driver_sql("SET LOCAL ROLE contactpoint_app")
        entry = _append(connection)  # INSERT + head UPDATE are granted
        assert (
            connection.execute(
                select(audit_event.c.seq).where(audit_event.c.seq == entry.seq)
            ).scalar_one()
            == entry.seq
        )
        for statement in (
            "UPDATE audit_event SET actor = 'mallory'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
            "DELETE FROM audit_checkpoint",
            "DELETE FROM audit_head",
            "ALTER TABLE audit_event DISABLE TRIGGER USER",
        ):
            with connection.begin_nested() as savepoint:
                with pytest.raises(DBAPIError) as caught:
                    connection.exec_driver_sql(statement)
                assert getattr(caught.value.orig, "sqlstate", None) == "42501", statement
                savepoint.rollback()
        outer.rollback()


def test_the_child_index_names_every_child_an_event_returned_or_showed(
    connection: Connection,
) -> None:
    from contactpoint.audit import oversight
    from contactpoint.audit.tables import audit_child

    searched = trail.append(
        connection, action=AuditAction.CHILD_SEARCH, actor="user:ann", organisation="O1",
        reason="referral", details={"results": ["000000001016", "000000002035"]},
        children=["000000001016", "000000002035"],
    )
    viewed = trail.append(
        connection, action=AuditAction.CHILD_VIEW, actor="user:ann", organisation="O1",
        reason="home visit", subject=trail.child_subject("000000002035"),
    )
    trail.append(connection, action=AuditAction.SIGN_IN, actor="user:bob", organisation="O1")
    looked = oversight.child_access(connection, "000000002035")
    assert [(e.seq, e.action, e.reason) for e in looked][-2:] == [
        (searched.seq, AuditAction.CHILD_SEARCH.value, "referral"),
        (viewed.seq, AuditAction.CHILD_VIEW.value, "home visit"),
    ]
    assert [e.seq for e in oversight.child_access(connection, "000000001016")][-1] == searched.seq
    assert oversight.returned_recently(connection, "000000001016", "user:ann", searched.at)
    assert not oversight.returned_recently(connection, "000000001016", "user:bob", searched.at)
    with connection.begin_nested() as savepoint:
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(audit_child.delete())
        savepoint.rollback()


def test_the_database_hashes_exactly_the_bytes_python_would(connection: Connection) -> None:
    """On PostgreSQL the append's hash is computed by the server (ADR 0006): with non-ASCII
    text, JSON escapes, nulls and an indexed child it equals Python's hash of the stored row,
    and the chain verifies."""
    entry = _append(
        connection, actor="usér-ø", reason='zoë "quoted" \\ back\nline ✓', request_id=None,
        subject="child:CP0000000042", details={"naïve": ["ü", 1, None], "emoji": "🙂"},
        children=["CP0000000043"],
    )
    stored = connection.execute(select(audit_event).where(audit_event.c.seq == entry.seq)).one()
    fields = {name: getattr(stored, name) for name in (
        "action", "actor", "organisation", "reason", "request_id", "subject", "details")}
    python = chain.entry_hash(entry.prev_hash, chain.canonical_entry(
        seq=entry.seq, at=chain.canonical_time(stored.at), **fields))
    assert python == entry.entry_hash == stored.entry_hash
    assert trail.head(connection) == (entry.seq, entry.entry_hash)
    indexed = connection.execute(text(
        "SELECT child_id FROM audit_child WHERE seq = :seq ORDER BY child_id"),
        {"seq": entry.seq}).scalars().all()
    assert indexed == ["CP0000000042", "CP0000000043"]
    walker = chain.ChainWalker()
    rows = connection.execute(select(*(audit_event.c[name] for name in chain.ROW_COLUMNS))
                              .order_by(audit_event.c.seq)).all()
    assert [walker.feed(tuple(row)) for row in rows] == [None] * len(rows)
