"""``contactpoint serve``: processes (one per core on PostgreSQL, one on SQLite), pool size."""

from __future__ import annotations

import os

import pytest

from contactpoint.settings import Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/x"


def test_one_process_per_core_on_postgresql() -> None:
    assert Settings(database_url=PG).effective_serve_workers == len(os.sched_getaffinity(0))


def test_one_process_on_sqlite_whose_single_writer_more_would_queue_behind() -> None:
    assert Settings(database_url="sqlite:///x.db").effective_serve_workers == 1
    assert Settings(database_url="").effective_serve_workers == 1  # the default SQLite file


def test_a_configured_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTPOINT_SERVE_WORKERS", "3")
    assert Settings(database_url="sqlite:///x.db").effective_serve_workers == 3


def test_each_server_process_keeps_a_pool_as_large_as_its_concurrent_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.pool import QueuePool

    from contactpoint.app import _engine

    engine = _engine(Settings(database_url=PG))  # no connection is opened
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.size() == 20
    monkeypatch.setenv("CONTACTPOINT_DB_POOL_SIZE", "32")
    configured = _engine(Settings(database_url=PG)).pool
    assert isinstance(configured, QueuePool)
    assert configured.size() == 32
