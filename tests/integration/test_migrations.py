from __future__ import annotations

from sqlalchemy import Connection, inspect

from contactpoint.db import migrate


def test_models_and_migrations_agree(db_url: str) -> None:
    migrate.check(db_url)


def test_schema_has_the_core_tables(connection: Connection) -> None:
    names = set(inspect(connection).get_table_names())
    assert {"source", "extract", "source_record", "child"} <= names


def test_sqlite_runs_with_foreign_keys_and_wal(connection: Connection, backend: str) -> None:
    if backend != "sqlite":
        return
    assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_head_every_command_checks_is_alembics_only_head(db_url: str) -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config(db_url)).get_heads()
    assert heads == [migrate.HEAD]
    assert migrate.current_heads(db_url) == ({migrate.HEAD}, {migrate.HEAD})  # upgraded
