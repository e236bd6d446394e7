"""Hypothesis: any single change to any stored field of the trail makes verify fail.

On SQLite each example edits a copy of the database file; on PostgreSQL each runs as the
superuser with the triggers disabled, inside a transaction that is rolled back afterwards.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.engine import make_url

from contactpoint.audit import trail
from contactpoint.audit.tables import audit_event, audit_head
from contactpoint.audit.verify import VerifyReport, verify
from contactpoint.db.engine import make_engine

ENTRIES = 6
SQLITE_TRIGGERS = ("audit_event_no_update", "audit_head_forward_only")
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=64)

MUTATIONS: dict[str, st.SearchStrategy[Any]] = {
    "seq": st.integers(-(10**6), 10**6).filter(lambda s: not 1 <= s <= ENTRIES),
    "at": st.integers(1, 10**10).map(lambda us: timedelta(microseconds=us))
    | st.integers(1, 10**10).map(lambda us: -timedelta(microseconds=us)),
    "action": texts.filter(bool),
    "actor": st.none() | texts,
    "organisation": st.none() | texts,
    "reason": st.none() | texts,
    "request_id": st.none() | texts,
    "subject": st.none() | texts,
    "details": texts,
    "prev_hash": texts,
    "entry_hash": texts,
    "head.seq": st.integers(0, 10**6).filter(lambda s: s != ENTRIES),
    "head.head_hash": texts,
}


def _build(engine: Engine) -> None:
    with engine.begin() as conn:
        for i in range(1, ENTRIES + 1):
            trail.append(
                conn,
                action=trail.AuditAction.CHILD_SEARCH,
                actor=f"user-{i}",
                organisation="LA001" if i % 2 else None,
                reason="section 47 enquiry",
                request_id=f"req-{i}",
                subject=None if i == 3 else f"child-{i}",
                details={"query": {"family_name": "Ó'Brien"}, "returned": [i, i + 1]},
            )


def _mutate(conn: Connection, index: int, column: str, new: Any) -> bool:
    """Apply the mutation; False when it would change nothing."""
    if column.startswith("head."):
        name = column.removeprefix("head.")
        old = conn.execute(select(audit_head.c[name])).scalar_one()
        if old == new:
            return False
        conn.execute(update(audit_head).values({name: new}))
        return True
    old = conn.execute(select(audit_event.c[column]).where(audit_event.c.seq == index)).scalar_one()
    if column == "at":
        new = old + new
    if old == new:
        return False
    conn.execute(update(audit_event).where(audit_event.c.seq == index).values({column: new}))
    return True


def _check(report: VerifyReport, index: int, column: str) -> None:
    assert not report.ok, f"{column} of entry {index} changed and verify passed"
    assert report.first_bad is not None
    if column.startswith("head.") or column == "seq":
        return
    assert report.first_bad == index, (column, report.problem)


def test_any_single_mutation_fails_verification(
    fresh_db_url: str, backend: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_db_url)
    _build(engine)
    if backend == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(
        index=st.integers(1, ENTRIES),
        column_and_value=st.sampled_from(sorted(MUTATIONS)).flatmap(
            lambda c: st.tuples(st.just(c), MUTATIONS[c])
        ),
    )
    def mutated_trail_fails(index: int, column_and_value: tuple[str, Any]) -> None:
        column, new = column_and_value
        if backend == "sqlite":
            source = Path(make_url(fresh_db_url).database or "")
            copy = tmp_path / "copy.sqlite3"
            shutil.copyfile(source, copy)
            for suffix in ("-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
            scratch = make_engine(f"sqlite:///{copy}")
            try:
                with scratch.begin() as conn:
                    for name in SQLITE_TRIGGERS:
                        conn.exec_driver_sql(f"DROP TRIGGER {name}")
                    changed = _mutate(conn, index, column, new)
                if changed:
                    with scratch.connect() as conn:
                        _check(verify(conn, key=None, checkpoint_dir=None), index, column)
            finally:
                scratch.dispose()
            return
        with engine.connect() as conn:
            conn.begin()
            for table in ("audit_event", "audit_head"):
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            try:
                if _mutate(conn, index, column, new):
                    _check(verify(conn, key=None, checkpoint_dir=None), index, column)
            finally:
                conn.rollback()

    try:
        mutated_trail_fails()
        with engine.connect() as conn:  # and the untouched original still verifies
            assert verify(conn, key=None, checkpoint_dir=None).ok
    finally:
        engine.dispose()


def test_sqlite_time_respelled_in_place_fails(fresh_db_url: str, backend: str) -> None:
    if backend != "sqlite":
        return
    engine = make_engine(fresh_db_url)
    try:
        _build(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("UPDATE audit_event SET at = replace(at, ' ', 'T') WHERE seq = 2")
        with engine.connect() as conn:
            report = verify(conn, key=None, checkpoint_dir=None)
        assert (report.ok, report.first_bad) == (False, 2)
    finally:
        engine.dispose()
