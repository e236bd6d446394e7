"""Concurrent appenders serialise on the chain head: no fork, no gap, even with rollbacks."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from contactpoint.audit import trail
from contactpoint.audit.tables import audit_event
from contactpoint.audit.verify import verify
from contactpoint.db.engine import make_engine


def test_concurrent_appends_form_one_gapless_chain(fresh_db_url: str, backend: str) -> None:
    threads, per_thread = (8, 100) if backend == "postgresql" else (4, 25)
    engine = make_engine(fresh_db_url, pool_size=threads, max_overflow=0)
    barrier = threading.Barrier(threads)
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with engine.connect() as conn:
                    entry = trail.append(
                        conn,
                        action=trail.AuditAction.CHILD_VIEW,
                        actor=f"user-{number}",
                        organisation="LA001",
                        subject=f"child-{i}",
                    )
                    if i % 7 == 3:
                        conn.rollback()  # the audited action failed
                        continue
                    conn.commit()
                with lock:
                    committed.append(entry.seq)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    try:
        assert not errors, errors[0]
        expected = threads * sum(1 for i in range(per_thread) if i % 7 != 3)
        assert sorted(committed) == list(range(1, expected + 1))  # gapless, no duplicates
        with engine.connect() as conn:
            count, distinct_prev = conn.execute(
                select(func.count(), func.count(audit_event.c.prev_hash.distinct()))
            ).one()
            assert count == distinct_prev == expected  # no two entries share a predecessor
            report = verify(conn, key=None, checkpoint_dir=None)
        assert report.ok, report.problem
        assert report.entries == expected
    finally:
        engine.dispose()
