"""Audited reads (``trail.append_read``): committed before they return, grouped under load,
one gapless verifiable chain (ADR 0007), on both backends."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import Engine, func, select, text

from contactpoint.audit import trail
from contactpoint.audit.tables import audit_child, audit_event
from contactpoint.audit.verify import verify
from contactpoint.db.engine import make_engine


def _read(engine: Engine, number: int) -> trail.AuditEntry:
    """A search as the route runs it: a read in a transaction, then its audit entry."""
    with engine.connect() as conn:
        conn.execute(select(func.count()).select_from(audit_event)).scalar_one()
        return trail.append_read(
            conn, action=trail.AuditAction.CHILD_SEARCH, actor=f"user-{number % 5}",
            organisation="LA001", reason="section 47 enquiry", request_id=f"req-{number}",
            details={"results": [f"CP{number:010d}"]}, children=[f"CP{number:010d}"])


def test_concurrent_reads_form_one_gapless_verifiable_chain(
    fresh_db_url: str, backend: str
) -> None:
    threads, per_thread = (8, 40) if backend == "postgresql" else (4, 10)
    engine = make_engine(fresh_db_url, pool_size=threads, max_overflow=0)
    seqs: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                entry = _read(engine, n * 1000 + i)
                seqs.append(entry.seq)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    try:
        assert not errors, errors[0]
        total = threads * per_thread
        assert sorted(seqs) == list(range(1, total + 1))
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(audit_child)).scalar_one() == total
            report = verify(conn, key=None, checkpoint_dir=None)
        assert report.ok, report.problem
        assert report.entries == total
    finally:
        engine.dispose()


def test_a_read_entry_is_committed_when_it_returns_with_the_callers_transaction(
    fresh_db_url: str, backend: str
) -> None:
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE touched (n integer)"))
            conn.commit()
            conn.execute(text("INSERT INTO touched VALUES (1)"))  # a session's last-seen, say
            entry = trail.append_read(conn, action=trail.AuditAction.CHILD_VIEW,
                                      actor="user-1", organisation="LA001",
                                      subject=trail.child_subject("CP0000000007"))
            with engine.connect() as other:  # seen by another connection at once
                assert other.execute(select(audit_event.c.seq)).scalars().all() == [entry.seq]
                assert other.execute(text("SELECT n FROM touched")).scalars().all() == [1]
                assert other.execute(select(audit_child.c.child_id)).scalars().all() == [
                    "CP0000000007"]
    finally:
        engine.dispose()


def test_reads_queued_behind_the_head_lock_commit_as_one_group(
    fresh_db_url: str, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite appends each read alone (one writer at a time)")
    engine = make_engine(fresh_db_url, pool_size=8, max_overflow=0)
    entries: list[trail.AuditEntry] = []
    try:
        with engine.connect() as holder:  # another process's group, holding the head
            holder.execute(text("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"))
            workers = [threading.Thread(target=lambda n=n: entries.append(_read(engine, n)))
                       for n in range(6)]
            for w in workers:
                w.start()
            group = trail._group_for(engine)
            deadline = time.monotonic() + 30
            while len(group._queue) < 6 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(group._queue) == 6  # one leader waiting for the lock, five behind it
            holder.rollback()
        for w in workers:
            w.join(30)
        assert sorted(e.seq for e in entries) == list(range(1, 7))
        with engine.connect() as conn:
            transactions = conn.execute(
                text("SELECT count(DISTINCT xmin::text) FROM audit_event")).scalar_one()
        assert transactions == 2  # the leader's own group, then the five queued behind it
    finally:
        engine.dispose()


def test_a_group_that_fails_stores_nothing_and_the_next_read_succeeds(
    fresh_db_url: str, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("the group write is PostgreSQL's (SQLite appends in the caller's transaction)")
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as conn, pytest.raises(psycopg.DataError):
            trail.append_read(conn, action=trail.AuditAction.CHILD_SEARCH, actor="user-1",
                              organisation="LA001", reason="nul \x00 byte")
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(audit_event)).scalar_one() == 0
        entry = _read(engine, 1)
        assert entry.seq == 1
    finally:
        engine.dispose()
