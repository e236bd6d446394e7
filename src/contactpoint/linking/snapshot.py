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
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

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


def _mark(conn: Connection, full_at: datetime) -> str:
    return json.dumps({"identity": _identity(conn), "last_event_id": _last_event_id(conn),
                       "full_at": full_at.isoformat()})


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
        if mark["identity"] == _identity(conn) and now - full_at < MAX_AGE:
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
    shielded = pl.Series(
        "child_key", [int(k) for (k,) in conn.execute(text("SELECT id FROM child WHERE shielded"))],
        dtype=pl.Int64(),
    )
    return Existing(store.conform_existing(fresh), mark, since=since, changed=changed,
                    shielded_children=shielded)
