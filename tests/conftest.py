"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL.

Schemas are built by running the Alembic migrations (never ``create_all``). Each test gets a
connection inside an outer transaction that is rolled back afterwards; tests that must see
real commits (atomic imports, killed processes) ask for ``fresh_db_url`` instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from contactpoint.db import migrate
from contactpoint.db.engine import make_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "CONTACTPOINT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def _admin_dsn() -> str:
    url = make_url(POSTGRES_ADMIN_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _create_pg_database() -> str:
    name = f"cp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database(backend: str, directory: Path) -> str:
    """A new, migrated, empty database of the given backend; returns its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'cp-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        url = _create_pg_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database shared by the session (per backend)."""
    url = new_database(backend, tmp_path_factory.mktemp("db"))
    yield url
    if backend == "postgresql":
        _drop_pg_database(url)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


@pytest.fixture
def fresh_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new migrated database of its own, for tests that need real commits."""
    url = new_database(backend, tmp_path)
    yield url
    if backend == "postgresql":
        _drop_pg_database(url)


@pytest.fixture(scope="module")
def module_db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of its own for one test module (commits allowed, shared in it)."""
    url = new_database(backend, tmp_path_factory.mktemp("moddb"))
    yield url
    if backend == "postgresql":
        _drop_pg_database(url)
