"""What every command needs: settings and an engine, built on demand, never at import."""

from __future__ import annotations

from functools import cache

from rich.console import Console
from sqlalchemy import Engine

from contactpoint.db import migrate
from contactpoint.db.engine import make_engine
from contactpoint.settings import Settings, load_settings

console = Console(stderr=True)
out = Console()


@cache
def settings() -> Settings:
    return load_settings()


@cache
def engine() -> Engine:
    """The engine, after checking the schema: a brand-new database is migrated on first use
    (nothing to lose); one at an older migration is refused until `contactpoint db upgrade`."""
    url = settings().effective_database_url
    at, expected = migrate.current_heads(url)
    if not at:
        console.print("new database: creating the schema (contactpoint db upgrade)")
        migrate.upgrade(url)
    elif at != expected:
        console.print(
            "[red]the database schema is not at the latest migration: run "
            "`contactpoint db upgrade` first[/red]"
        )
        raise SystemExit(1)
    return make_engine(url)
