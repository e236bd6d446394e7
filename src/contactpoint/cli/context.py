"""What every command needs: settings and an engine, built on demand, never at import."""

from __future__ import annotations

from functools import cache

from rich.console import Console
from sqlalchemy import Engine

from contactpoint.db.engine import make_engine
from contactpoint.settings import Settings, load_settings

console = Console(stderr=True)
out = Console()


@cache
def settings() -> Settings:
    return load_settings()


@cache
def engine() -> Engine:
    return make_engine(settings().effective_database_url)
