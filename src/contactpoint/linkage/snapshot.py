"""A local snapshot of the *existing* frame, so a daily delta need not re-read the nation.

Reading every linked record (millions) costs more than matching a 10,000-record delta. After a
full read, the frame is written to ``<linkage_dir>/existing.parquet`` with the time it was taken;
it is rewritten only once the records re-read on each run pass ``REWRITE_AFTER`` of it (or after
``MAX_AGE``), so a daily run reads the snapshot but does not write millions of rows back.
The next incremental run reads the snapshot and re-reads from the database exactly the records
that may have changed since, with no clock involved: records a feed touched (every import
change, retirement and deletion sets ``source_record.link_pending``, which only a link run
clears), records whose child changed (every change writes a ``link_event``; the snapshot keeps
the highest event id it has seen, and link runs are serialised), and retired/deleted records of
shielded children; shields are re-read from the ``child`` table every time. A snapshot from
another database, or older than ``MAX_AGE``, is ignored and rebuilt. It holds personal data: it
lives beside the database, under the same protection as ``var/``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, text

from contactpoint.db.base import utcnow
from contactpoint.linkage import store

SNAPSHOT = "existing.parquet"
META = "existing.json"
MAX_AGE = timedelta(days=7)
REWRITE_AFTER = 0.02  # rewrite the snapshot once this share of it is re-read on every run


def _identity(conn: Connection) -> str:
    first = conn.execute(text("SELECT MIN(started_at) FROM link_run")).scalar()
    url = conn.engine.url.render_as_string(hide_password=True)
    return f"{url}|{first}"


def _last_event_id(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM link_event")).scalar_one())


def _changed_keys(conn: Connection, after_event_id: int) -> pl.DataFrame:
    sql = text(
        "SELECT id FROM source_record WHERE link_pending "
        "UNION SELECT record_key FROM link_event WHERE id > :after "
        "UNION SELECT s.id FROM source_record s JOIN child c ON c.id = s.child_id "
        "WHERE c.shielded AND s.record_status <> 'active'"
    ).bindparams(after=after_event_id)
    keys = [int(k) for (k,) in conn.execute(sql).all()]
    return pl.DataFrame({"k": keys}, schema={"k": pl.Int64()})


def read_existing(conn: Connection, cache_dir: Path | None) -> pl.DataFrame:
    """The existing frame, from the snapshot plus what changed, or in full (then cached).

    Call it inside the link run's transaction (which holds the one-run-at-a-time lock).
    """
    taken_at = utcnow()
    last_event_id = _last_event_id(conn)
    if cache_dir is None:
        return store.read_existing(conn)
    snap, meta_path = cache_dir / SNAPSHOT, cache_dir / META
    identity = _identity(conn)
    frame: pl.DataFrame | None = None
    if snap.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        when = datetime.fromisoformat(meta["taken_at"])
        if (meta.get("identity") == identity and taken_at - when < MAX_AGE
                and "last_event_id" in meta):
            frame, refreshed = _refresh(conn, pl.read_parquet(snap), int(meta["last_event_id"]))
            if refreshed <= REWRITE_AFTER * frame.height:
                return frame  # the snapshot stays valid: next time refreshes a little more
    if frame is None:
        frame = store.read_existing(conn)
    _write(cache_dir, frame, taken_at, identity, last_event_id)
    return frame


def save(conn: Connection, cache_dir: Path, frame: pl.DataFrame) -> None:
    """Take the snapshot from a frame the caller knows to be the existing records now (a
    first link run, inside its transaction: if it rolls back, the run it names never existed
    and the snapshot is ignored)."""
    _write(cache_dir, store.conform_existing(frame).sort("record_key"), utcnow(),
           _identity(conn), _last_event_id(conn))


def _write(cache_dir: Path, frame: pl.DataFrame, taken_at: datetime, identity: str,
           last_event_id: int) -> None:
    snap, meta_path = cache_dir / SNAPSHOT, cache_dir / META
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = snap.with_suffix(".tmp")
    frame.write_parquet(tmp)
    tmp.replace(snap)
    meta_path.write_text(json.dumps({"taken_at": taken_at.isoformat(), "identity": identity,
                                     "last_event_id": last_event_id}))


def _refresh(
    conn: Connection, cached: pl.DataFrame, after_event_id: int
) -> tuple[pl.DataFrame, int]:
    """The cached frame brought up to date, and how many records had to be re-read."""
    changed = _changed_keys(conn, after_event_id)
    store.load_temp(conn, "tmp_changed", changed)
    fresh = store.read_records(
        conn,
        "s.id IN (SELECT k FROM tmp_changed) AND " + store.EXISTING_WHERE,  # noqa: S608
        {"child_key": ("s.child_id", pl.Int64()), "shielded": ("c.shielded", pl.Boolean())},
    )
    store.drop_temp(conn, "tmp_changed")
    kept = cached.join(changed.rename({"k": "record_key"}), on="record_key", how="anti")
    shielded = [int(k) for (k,) in conn.execute(text("SELECT id FROM child WHERE shielded"))]
    merged = [int(k) for (k,) in conn.execute(text("SELECT id FROM child WHERE status = 'merged'"))]
    out = pl.concat([kept, store.conform_existing(fresh)]).filter(
        ~pl.col("child_key").is_in(pl.Series(merged, dtype=pl.Int64()).implode())
    )
    return out.with_columns(
        pl.col("child_key").is_in(pl.Series(shielded, dtype=pl.Int64()).implode())
        .alias("shielded")
    ).sort("record_key"), changed.height
