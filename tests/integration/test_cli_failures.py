"""Failures an operator can cause: one clear line, a documented exit code (docs/operations.md),
and the traceback only under ``--debug``. Real processes, real databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cli_process import cli_env, run
from conftest import _admin_dsn
from contactpoint.cli.failures import ExitCode
from contactpoint.db import migrate

UNREACHABLE = "postgresql+psycopg://postgres:secret-word@127.0.0.1:1/contactpoint"


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_an_unreachable_database_is_one_line_and_exit_69(tmp_path: Path) -> None:
    done = run(["link"], cli_env(tmp_path / "var", UNREACHABLE))
    assert done.returncode == ExitCode.DATABASE_UNREACHABLE == 69
    line = _one_line(done.stderr)
    assert line.startswith("error: database unreachable: postgresql+psycopg://postgres:***@")
    assert "secret-word" not in done.stderr  # the password is never printed
    assert done.stdout == ""


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run(["--debug", "review", "list"], cli_env(tmp_path / "var", UNREACHABLE))
    assert done.returncode not in (0, ExitCode.DATABASE_UNREACHABLE)
    assert "Traceback" in done.stderr or "OperationalError" in done.stderr


def test_a_missing_path_says_no_such_file(tmp_path: Path) -> None:
    missing = tmp_path / "feeds" / "nhs-pds.ndjson"
    done = run(["import", str(missing)], cli_env(tmp_path / "var", None))
    assert done.returncode == ExitCode.PATH_MISSING == 66
    assert _one_line(done.stderr) == f"error: no such file: {missing}"


def test_a_full_disk_is_one_line_and_exit_74(fresh_db_url: str, tmp_path: Path) -> None:
    done = run(["export", "links", "--out", "/dev/full"], cli_env(tmp_path / "var", fresh_db_url))
    assert done.returncode == ExitCode.DISK_FULL == 74, done.stderr
    assert "error: disk full: no space left on device" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_schema_behind_asks_for_db_upgrade(backend: str, tmp_path: Path) -> None:
    from conftest import _create_pg_database, _drop_pg_database

    url = (f"sqlite:///{tmp_path / 'old.sqlite3'}" if backend == "sqlite"
           else _create_pg_database())
    try:
        migrate.upgrade(url, "0011_record_link")
        behind = run(["db", "status", "--json"], cli_env(tmp_path / "var", url))
        assert behind.returncode == 1
        assert json.loads(behind.stdout)["at"] == ["0011_record_link"]
        done = run(["review", "list"], cli_env(tmp_path / "var", url))
        assert done.returncode == ExitCode.SCHEMA_BEHIND == 78
        line = _one_line(done.stderr)
        assert "0011_record_link" in line
        assert "run `contactpoint db upgrade`" in line
        assert run(["db", "upgrade"], cli_env(tmp_path / "var", url)).returncode == 0
        assert run(["review", "list"], cli_env(tmp_path / "var", url)).returncode == 0
    finally:
        if backend == "postgresql":
            _drop_pg_database(url)


@pytest.fixture
def unprivileged_url(backend: str, fresh_db_url: str, tmp_path: Path) -> Iterator[str]:
    """A connection the database may refuse: a read-only SQLite file; a PostgreSQL role
    granted nothing on the tables."""
    if backend == "sqlite":
        path = make_url(fresh_db_url).database
        yield f"sqlite:///file:{path}?mode=ro&uri=true"
        return
    role = f"cp_nobody_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield make_url(fresh_db_url).set(username=role).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{role}"')


def test_permission_denied_is_one_line_and_exit_77(unprivileged_url: str, tmp_path: Path) -> None:
    done = run(["orgs", "create", "LA-1", "--name", "Leeds", "--kind", "council"],
               cli_env(tmp_path / "var", unprivileged_url))
    assert done.returncode == ExitCode.PERMISSION_DENIED == 77, done.stderr
    assert _one_line(done.stderr).startswith("error: permission denied by ")


