"""A local snapshot of the *existing* frame, so a daily delta need not re-read the nation.

Reading every linked record (millions) costs more than matching a 10,000-record delta. After a
full read, the frame is written to ``<linkage_dir>/existing.parquet`` with the time it was taken.
The next incremental run reads the snapshot and re-reads from the database only the records
that may have changed since (minus a safety margin): records a feed touched
(``source_record.updated_at``), records whose child changed (every change writes a
``link_event``), and retired/deleted records of shielded children; shields are re-read from the
``child`` table every time. A snapshot from another database, or older than ``MAX_AGE``, is
ignored and rebuilt. It holds personal data: it lives beside the database, under the same
protection as ``var/``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, bindparam, text

from contactpoint.db.base import UTCDateTime, utcnow
from contactpoint.linkage import store

SNAPSHOT = "existing.parquet"
META = "existing.json"
MARGIN = timedelta(minutes=15)  # longer than any import or link transaction is expected to run
MAX_AGE = timedelta(days=7)


def _identity(conn: Connection) -> str:
    first = conn.execute(text("SELECT MIN(started_at) FROM link_run")).scalar()
    url = conn.engine.url.render_as_string(hide_password=True)
    return f"{url}|{first}"


def _changed_keys(conn: Connection, since: datetime) -> pl.DataFrame:
    sql = text(
        "SELECT id FROM source_record WHERE updated_at >= :since "
        "UNION SELECT record_key FROM link_event WHERE created_at >= :since "
        "UNION SELECT s.id FROM source_record s JOIN child c ON c.id = s.child_id "
        "WHERE c.shielded AND s.record_status <> 'active'"
    ).bindparams(bindparam("since", since, type_=UTCDateTime()))
    keys = [int(k) for (k,) in conn.execute(sql).all()]
    return pl.DataFrame({"k": keys}, schema={"k": pl.Int64()})


def read_existing(
    conn: Connection, cache_dir: Path | None, margin: timedelta = MARGIN
) -> pl.DataFrame:
    """The existing frame, from the snapshot plus what changed, or in full (then cached)."""
    taken_at = utcnow()
    if cache_dir is None:
        return store.read_existing(conn)
    snap, meta_path = cache_dir / SNAPSHOT, cache_dir / META
    identity = _identity(conn)
    frame: pl.DataFrame | None = None
    if snap.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        when = datetime.fromisoformat(meta["taken_at"])
        if meta.get("identity") == identity and taken_at - when < MAX_AGE:
            frame = _refresh(conn, pl.read_parquet(snap), when - margin)
    if frame is None:
        frame = store.read_existing(conn)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = snap.with_suffix(".tmp")
    frame.write_parquet(tmp)
    tmp.replace(snap)
    meta_path.write_text(json.dumps({"taken_at": taken_at.isoformat(), "identity": identity}))
    return frame


def _refresh(conn: Connection, cached: pl.DataFrame, since: datetime) -> pl.DataFrame:
    changed = _changed_keys(conn, since)
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
    ).sort("record_key")
