"""Alembic environment: run migrations against the URL in the config."""

from __future__ import annotations

from alembic import context

import contactpoint.db.all_tables  # noqa: F401  (registers every table on the metadata)
from contactpoint.db.base import metadata
from contactpoint.db.engine import make_engine


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = make_engine(url)
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if not is_sqlite:
            connection.exec_driver_sql("SET lock_timeout = '10s'")
            connection.commit()
        else:
            # Batch migrations recreate a table (copy, drop, rename); rows of other tables
            # that reference it must not fail the DROP. Checked again below.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if is_sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"foreign key violations after migrating: {broken[:5]}")
    engine.dispose()


run_migrations_online()
