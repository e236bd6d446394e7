"""What the engine's store of existing records lacks, so a daily delta need not re-read the nation.

Reading every linked record (millions) costs more than matching a 10,000-record delta. The
engine keeps the existing records it has seen (:mod:`contactpoint.matching.prepared`) with a
*mark* naming the state of the database they describe: which database and index (its URL and
the start of its first link run), the highest ``link_event`` id, and when they were last read
in full. :func:`read_existing` returns exactly the records that may have changed since that mark,
with no clock involved: linked records a feed touched (every import change, retirement and
deletion puts the record on ``link_queue``, which only a link run takes it off; a record with
no child yet was never an existing one), records whose child changed or that were retired
(every move writes a ``link_event``, and so does a run that takes a retired record off the
queue; link runs are serialised), and retired/deleted records of shielded children; shields
are re-read from the ``child`` table every time. Without a mark,
with one from another database, or with one whose full read is older than ``MAX_AGE``, every
existing record is read again.

Call it inside the link run's transaction (which holds the one-run-at-a-time lock) and before
the run writes anything: the mark then names committed state whether the run commits or not.

After an incremental run, :func:`after_run` (inside the run's transaction, after its last
write) gives the store the records the run linked, as changes since the run's own mark, with a
mark naming the state the run commits; the caller applies it only once the run has committed
and only while :func:`still_current` holds (under the lock again), so the next run need not
read and prepare them again. A mark is only taken at its word while the event it names is the
one the database holds under that id, and none newer than the database's newest (a database
restored or rolled back behind the store): otherwise everything is read again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from contactpoint.db.base import utcnow
from contactpoint.linking import store
from contactpoint.matching.frame import Existing

MAX_AGE = timedelta(days=7)  # read everything again at least this often


def _identity(conn: Connection) -> str:
    first = conn.execute(text("SELECT MIN(started_at) FROM link_run")).scalar()
    url = conn.engine.url.render_as_string(hide_password=True)
    return f"{url}|{first}"


def _last_event_id(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM link_event")).scalar_one())


def _event_key(conn: Connection, event_id: int) -> int | None:
    """The record of ``link_event`` ``event_id`` (``None``: there is no such event)."""
    key = conn.execute(text("SELECT record_key FROM link_event WHERE id = :id"),
                       {"id": event_id}).scalar()
    return None if key is None else int(key)


def _mark(conn: Connection, full_at: datetime) -> str:
    last = _last_event_id(conn)
    return json.dumps({"identity": _identity(conn), "last_event_id": last,
                       "last_event_key": _event_key(conn, last),
                       "full_at": full_at.isoformat()})


def _describes(conn: Connection, mark: dict[str, Any]) -> bool:
    """``mark`` names a state of this database, at or behind it: the same identity, no event
    beyond the newest here, and (marks that carry it) the event it ends on is the one here."""
    if mark["identity"] != _identity(conn):
        return False
    last = int(mark["last_event_id"])
    if last > _last_event_id(conn):
        return False
    return "last_event_key" not in mark or mark["last_event_key"] == _event_key(conn, last)


def still_current(conn: Connection, mark: str) -> bool:
    """Nothing has been linked, moved or retired since ``mark`` (call it holding the lock)."""
    held = json.loads(mark)
    return int(held["last_event_id"]) == _last_event_id(conn) and _describes(conn, held)


def _changed_keys(conn: Connection, after_event_id: int) -> pl.Series:
    sql = text(
        "SELECT q.record_key FROM link_queue q JOIN record_link l ON l.record_key = q.record_key "
        "UNION SELECT record_key FROM link_event WHERE id > :after "
        "UNION SELECT s.id FROM child c JOIN record_link l ON l.child_key = c.id "
        "JOIN source_record s ON s.id = l.record_key "
        "WHERE c.shielded AND s.record_status <> 'active'"
    ).bindparams(after=after_event_id)
    return pl.Series("k", [int(k) for (k,) in conn.execute(sql).all()], dtype=pl.Int64())


def read_existing(conn: Connection, held: str | None) -> Existing:
    """The existing records as changes since the mark ``held`` (the engine's), or in full."""
    now = utcnow()
    if held is not None:
        mark = json.loads(held)
        full_at = datetime.fromisoformat(mark["full_at"])
        if now - full_at < MAX_AGE and _describes(conn, mark):
            return _changes(conn, int(mark["last_event_id"]), since=held, full_at=full_at)
    return whole(conn, store.read_existing(conn), now)


def whole(conn: Connection, records: pl.DataFrame, full_at: datetime | None = None) -> Existing:
    """Every existing record, as ``records`` (the caller read them in this transaction)."""
    return Existing.whole(records, _mark(conn, full_at or utcnow()))


def _changes(conn: Connection, after_event_id: int, *, since: str, full_at: datetime) -> Existing:
    mark = _mark(conn, full_at)
    changed = _changed_keys(conn, after_event_id)
    store.load_temp(conn, "tmp_changed", changed.to_frame())
    fresh = store.read_records(
        conn,
        "s.id IN (SELECT k FROM tmp_changed) AND " + store.EXISTING_WHERE,  # noqa: S608 - constant names only  # nosec B608
        store.EXISTING_COLUMNS,
    )
    store.drop_temp(conn, "tmp_changed")
    return Existing(store.conform_existing(fresh), mark, since=since, changed=changed,
                    shielded_children=_shielded_children(conn))


def _shielded_children(conn: Connection) -> pl.Series:
    return pl.Series(
        "child_key", [int(k) for (k,) in conn.execute(text("SELECT id FROM child WHERE shielded"))],
        dtype=pl.Int64(),
    )


def after_run(conn: Connection, since: str, linked: pl.DataFrame) -> Existing | None:
    """The store's changes from ``since`` (the mark the run matched at) to the state this
    transaction holds after the run's writes; ``None`` if they cannot be given safely.

    ``linked``: the records the run linked, as it read them (a record frame plus
    ``content_hash``) with the child it linked each to (``child_key``). Holding the lock, the
    run wrote those links and took the records off the queue, so they are existing records
    now, and nothing else changed for the store (a run's other events retire records the store
    already left out at ``since``, or hold a pending record). Only an import may have changed
    a record since the run read it (imports take no lock): then ``None``, and the next run
    reads them all again. (One look-up by key of ``source_record``: pages the run has just
    read, where joining the links and children again cost 0.6 s at 1 M children.)"""
    held = json.loads(since)
    store.load_temp(conn, "tmp_linked", linked.select(pl.col("record_key").alias("k")))
    now = store.query_frame(
        conn,
        "SELECT id, content_hash, record_status FROM source_record "
        "WHERE id IN (SELECT k FROM tmp_linked)",
        {"record_key": pl.Int64(), "now_hash": pl.Utf8(), "status": pl.Utf8()},
    )
    store.drop_temp(conn, "tmp_linked")
    same = linked.join(now, on="record_key").filter(
        (pl.col("content_hash") == pl.col("now_hash")) & (pl.col("status") == "active"))
    if same.height != linked.height:
        return None
    shielded = _shielded_children(conn)
    records = linked.drop("content_hash").with_columns(
        pl.col("child_key").is_in(shielded.implode()).alias("shielded"))
    return Existing(store.conform_existing(records),
                    _mark(conn, datetime.fromisoformat(held["full_at"])), since=since,
                    changed=linked["record_key"], shielded_children=shielded)
