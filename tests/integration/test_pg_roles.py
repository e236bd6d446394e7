"""The PostgreSQL roles of docs/operations.md, run for real: the schema owner migrates and
applies docs/sql/app-grants.sql; a login role in contactpoint_app imports, links, signs a
checkpoint and verifies, and may append to the audit trail but not change it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cli_process import cli_env, run, run_json
from conftest import POSTGRES_ADMIN_URL, _admin_dsn
from contactpoint.db import migrate

GRANTS = Path(__file__).parents[2] / "docs" / "sql" / "app-grants.sql"


def _url(role: str, database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(username=role, password=None,
                                            database=database).render_as_string(False)


@pytest.fixture
def roles() -> Iterator[tuple[str, str]]:
    """(owner URL, application URL) on a new database owned by a new owner role."""
    tag = uuid.uuid4().hex[:8]
    owner, web, database = f"cp_owner_{tag}", f"cp_web_{tag}", f"cp_roles_{tag}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            "'contactpoint_app') THEN CREATE ROLE contactpoint_app NOLOGIN; END IF; END $$")
        admin.execute(f'CREATE ROLE "{owner}" LOGIN')
        admin.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')
        admin.execute(f'CREATE ROLE "{web}" LOGIN IN ROLE contactpoint_app')
    try:
        yield _url(owner, database), _url(web, database)
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{web}"')
            admin.execute(f'DROP ROLE IF EXISTS "{owner}"')


def test_the_application_role_appends_to_the_audit_trail_but_cannot_change_it(
    roles: tuple[str, str], tmp_path: Path
) -> None:
    owner_url, app_url = roles
    migrate.upgrade(owner_url)
    owner_dsn = make_url(owner_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        owner.execute(GRANTS.read_text())  # type: ignore[arg-type]  # the file, as psql runs it

    env = cli_env(tmp_path / "var", app_url)
    feeds = tmp_path / "feeds"
    run_json(["synth", "--children", "60", "--seed", "3", "--out", str(feeds)], env)
    imported = run_json(["import", str(feeds), "--link"], env)
    assert imported["ok"] is True
    assert imported["link"]["children_created"] > 0
    assert run(["audit", "checkpoint"], env).returncode == 0
    assert run_json(["audit", "verify"], env)["ok"] is True

    app_dsn = make_url(app_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(app_dsn, autocommit=True) as app:
        for statement in ("UPDATE audit_event SET actor = 'x' WHERE seq = 1",
                          "DELETE FROM audit_event WHERE seq = 1",
                          "TRUNCATE audit_checkpoint",
                          "UPDATE alembic_version SET version_num = 'x'",
                          "ALTER TABLE audit_event DISABLE TRIGGER ALL"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)  # type: ignore[arg-type]
