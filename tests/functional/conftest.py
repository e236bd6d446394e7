"""Fixtures for the HTTP tests: one migrated database per module, an app with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from contactpoint.access.testing import FAST_SETTINGS, FakeClock
from contactpoint.app import create_app
from contactpoint.db.engine import make_engine
from contactpoint.settings import Settings


@pytest.fixture(scope="module")
def db(module_db_url: str) -> Iterator[Engine]:
    eng = make_engine(module_db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(db: Engine, module_db_url: str, clock: FakeClock) -> FastAPI:
    return create_app(
        Settings(database_url=module_db_url), access_settings=FAST_SETTINGS, engine=db, clock=clock
    )
