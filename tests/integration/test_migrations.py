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


def test_links_and_the_queue_move_to_their_own_tables_and_back(fresh_db_url: str) -> None:
    """0011 moves ``source_record.child_id`` / ``link_pending`` into ``record_link`` /
    ``link_queue`` without losing one, and its downgrade puts them back."""
    from alembic import command
    from sqlalchemy import text

    from contactpoint.db.engine import make_engine

    config = migrate.alembic_config(fresh_db_url)
    command.downgrade(config, "0010_shielded_index")
    engine = make_engine(fresh_db_url)
    record = (
        "INSERT INTO source_record (id, source_code, source_record_id, record_status, "
        "given_name, family_name, date_of_birth, carers, involvements, first_extract_id, "
        "extract_id, content_hash, child_id, link_pending, updated_at) VALUES (:id, 'S', :srid, "
        "'active', 'Amy', 'Lee', '2016-01-01', '[]', '[]', 1, 1, 'h', :child, :pending, "
        "'2026-11-25 00:00:00+00:00')"
    )
    rows = [  # linked and settled, linked and changed since, never linked
        {"id": 1, "srid": "a", "child": 7, "pending": False},
        {"id": 2, "srid": "b", "child": 7, "pending": True},
        {"id": 3, "srid": "c", "child": None, "pending": True},
    ]
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO child (id, child_id, status, shielded, retained_to_25, created_at, "
                "updated_at) VALUES (7, '000000000070', 'active', false, false, "
                "'2026-11-25 00:00:00+00:00', '2026-11-25 00:00:00+00:00')"))
            conn.execute(text(record), rows)
        command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT record_key, child_key FROM record_link "
                                     "ORDER BY record_key")).all() == [(1, 7), (2, 7)]
            assert conn.execute(text("SELECT record_key FROM link_queue ORDER BY 1")).all() == [
                (2,), (3,)]
            names = {c["name"] for c in inspect(conn).get_columns("source_record")}
            assert not {"child_id", "link_pending"} & names
        command.downgrade(config, "0010_shielded_index")
        with engine.connect() as conn:
            got = conn.execute(text("SELECT id, child_id, link_pending FROM source_record "
                                    "ORDER BY id")).all()
            assert [(r[0], r[1], bool(r[2])) for r in got] == [
                (r["id"], r["child"], r["pending"]) for r in rows]
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_retire_events_stay_append_only_and_refuse_a_downgrade(fresh_db_url: str) -> None:
    """0012 lets a run record a ``retire``; the table stays append-only (SQLite rebuilds it
    for the new CHECK and must make its triggers again), and no downgrade drops the event."""
    import pytest
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from contactpoint.db.engine import make_engine

    config = migrate.alembic_config(fresh_db_url)
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO link_event (record_key, child_key, previous_child_key, kind, band, "
                "created_at) VALUES (1, 7, 7, 'retire', 'retired', '2026-11-26 00:00:00+00:00')"))
        with engine.connect() as conn:
            for sql in ("UPDATE link_event SET band = 'x'", "DELETE FROM link_event"):
                with pytest.raises(DBAPIError, match="append-only"):
                    conn.execute(text(sql))
                conn.rollback()
        with pytest.raises(RuntimeError, match="1 'retire' events"):
            command.downgrade(config, "0011_record_link")
        # never left below 0012 (SQLite keeps the later revisions' downgrades it ran first;
        # PostgreSQL rolls the whole downgrade back)
        assert migrate.current_heads(fresh_db_url)[0] in (
            {migrate.HEAD}, {"0012_link_event_retire"})
    finally:
        engine.dispose()
