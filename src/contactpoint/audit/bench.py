"""Audit trail benchmark: append rate (the real ``append``) and verify rate (the real verifier).

``run_audit_benchmark(entries, url)`` appends ``min(entries, append_sample)`` events one by one
through :func:`contactpoint.audit.trail.append` (one transaction per 100 events), fills the rest
with a bulk loader that writes the same chain format (so verification has a full-size log to
walk), signs a checkpoint, and verifies everything. The database at ``url`` must be migrated.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, update

from contactpoint.audit import chain, trail
from contactpoint.audit.checkpoint import create_checkpoint, load_verifier_key
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.tables import audit_event, audit_head
from contactpoint.audit.verify import verify
from contactpoint.db.base import utcnow
from contactpoint.db.engine import make_engine


def _details(i: int) -> dict[str, Any]:
    return {"query": {"family_name": "SMITH", "dob": "2015-03-01"}, "returned": [i, i + 1, i + 2]}


def _bulk_fill(conn: Connection, count: int, batch: int = 5_000) -> None:
    """Append ``count`` chained events with multi-row inserts (benchmark seeding only)."""
    seq, prev = trail.head(conn)
    start = utcnow()
    rows: list[dict[str, Any]] = []
    for i in range(count):
        seq += 1
        at = start + timedelta(microseconds=i)
        at_text = chain.canonical_time(at)
        details = chain.canonical_details(_details(seq))
        fields: dict[str, Any] = {
            "seq": seq,
            "action": trail.AuditAction.CHILD_SEARCH.value,
            "actor": f"user-{seq % 500}",
            "organisation": f"LA{seq % 150:03d}",
            "reason": "section 47 enquiry",
            "request_id": f"req-{seq}",
            "subject": None,
            "details": details,
        }
        digest = chain.entry_hash(prev, chain.canonical_entry(at=at_text, **fields))
        rows.append({**fields, "at": at, "prev_hash": prev, "entry_hash": digest})
        prev = digest
        if len(rows) >= batch:
            conn.execute(insert(audit_event), rows)
            rows = []
    if rows:
        conn.execute(insert(audit_event), rows)
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, head_hash=prev))


def run_audit_benchmark(
    entries: int, url: str, *, append_sample: int = 20_000, work_dir: Path | None = None
) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        sample = min(entries, append_sample)
        started = time.perf_counter()
        done = 0
        while done < sample:
            with engine.begin() as conn:
                for _ in range(min(100, sample - done)):
                    done += 1
                    trail.append(
                        conn,
                        action=trail.AuditAction.CHILD_VIEW,
                        actor=f"user-{done % 500}",
                        organisation="LA001",
                        reason="section 47 enquiry",
                        subject=f"child-{done}",
                        details=_details(done),
                    )
        append_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with engine.begin() as conn:
            _bulk_fill(conn, entries - sample)
        fill_seconds = time.perf_counter() - started

        with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
            config = AuditConfig(Path(tmp) / "checkpoints", Path(tmp) / "key.pem")
            started = time.perf_counter()
            create_checkpoint(engine, config)
            checkpoint_seconds = time.perf_counter() - started
            key = load_verifier_key(config)
            with engine.connect() as conn:
                report = verify(conn, key=key, checkpoint_dir=config.checkpoint_dir)
        return {
            "backend": engine.dialect.name,
            "entries": report.entries,
            "appended_one_by_one": sample,
            "append_per_second": round(sample / append_seconds, 1) if sample else None,
            "bulk_fill_seconds": round(fill_seconds, 2),
            "checkpoint_seconds": round(checkpoint_seconds, 2),
            "verify_seconds": round(report.seconds, 2),
            "verify_per_second": round(report.entries / report.seconds, 1),
            "verify_ok": report.ok,
        }
    finally:
        engine.dispose()
