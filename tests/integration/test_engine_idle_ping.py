"""The server's pool pings a connection at check-out only after it sat idle
(``make_engine(ping_after_idle=...)``), and still replaces one the server dropped."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from contactpoint.db.engine import make_engine


def _engine(db_url: str, backend: str, idle: float, pings: list[int],
            monkeypatch: pytest.MonkeyPatch) -> Any:
    if backend != "postgresql":
        pytest.skip("the pool's ping is PostgreSQL's (SQLite has no server to lose)")
    engine = make_engine(db_url, ping_after_idle=idle, pool_size=1, max_overflow=0)
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping",
                        lambda connection: pings.append(1) or ping(connection))
    return engine


def test_a_connection_back_in_the_pool_recently_is_not_pinged(
    db_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[int] = []
    engine = _engine(db_url, backend, 3600.0, pings, monkeypatch)
    try:
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert pings == []
    finally:
        engine.dispose()


def test_an_idle_connection_is_pinged_and_a_dropped_one_replaced(
    db_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[int] = []
    engine = _engine(db_url, backend, 0.0, pings, monkeypatch)  # every check-out is "idle"
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = make_engine(db_url)
        with admin.connect() as other:  # waits (up to 5 s) until that backend has gone
            other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        admin.dispose()
        with engine.connect() as conn:  # the ping finds it dropped: another is opened
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
        assert len(pings) >= 2
    finally:
        engine.dispose()
