"""Engines: SQLite (WAL, foreign keys on) by default, PostgreSQL in production."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(url: str, **kwargs: Any) -> Engine:
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
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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
