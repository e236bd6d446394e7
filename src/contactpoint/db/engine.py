"""Engines: SQLite (WAL, foreign keys on) by default, PostgreSQL in production."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

_RETURNED = "contactpoint_returned_at"  # a pooled connection's info: when it was checked in


def make_engine(url: str, *, ping_after_idle: float | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``. On PostgreSQL a pooled connection is pinged at check-out (a
    round trip) so a connection the server dropped is replaced, not handed out; with
    ``ping_after_idle`` (seconds) only one that sat in the pool at least that long is pinged
    (:func:`_ping_when_idle`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # a SQLite URI (``file:…?mode=ro&uri=true``) names a file SQLite opens as told: not ours
        # to create
        uri = parsed.query.get("uri") == "true" or (parsed.database or "").startswith("file:")
        if parsed.database and parsed.database != ":memory:" and not uri:
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if ping_after_idle is None:
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a connection at check-out only when it was idle in the pool for ``idle_seconds``
    or more (SQLAlchemy's pre-ping pings at every check-out: one round trip per request under
    load). A connection returned more recently was working then; if the server went away in
    between, the request's first statement fails as a disconnect and SQLAlchemy invalidates
    the pool's older connections, so one request sees the restart, not every pooled one."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()  # just opened: alive

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is not None and time.monotonic() - returned < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards it and checks out another
            raise exc.DisconnectionError() from error
        record.info[_RETURNED] = time.monotonic()


def private_dir(path: Path) -> None:
    """Create ``path`` as a directory only its owner may enter (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def private_sqlite_file(path: Path) -> None:
    """The SQLite file holds password hashes, second factors and children's data: create it
    0600 before SQLite does (its -wal and -shm files copy the database file's mode), in a
    0700 directory when we create that directory (review finding 12). An existing database
    readable by others is tightened to 0600."""
    if not path.parent.exists():
        private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
