"""``contactpoint serve``'s process count: one per core on PostgreSQL, one on SQLite."""

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
