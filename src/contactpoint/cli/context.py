"""What every command needs: settings and an engine, built on demand, never at import."""

from __future__ import annotations

import getpass
from functools import cache
from typing import Any

from rich.console import Console
from sqlalchemy import Connection, Engine

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db import migrate
from contactpoint.db.engine import make_engine
from contactpoint.errors import SchemaBehind
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
        raise SchemaBehind(
            f"the database schema is at {', '.join(sorted(at))}, not {', '.join(sorted(expected))}:"
            " run `contactpoint db upgrade` first")
    return make_engine(url)


def actor(name: str | None = None) -> str:
    """Who is acting from the command line, as the audit trail records it."""
    return f"cli:{name or getpass.getuser()}"[:128]


def audit(
    conn: Connection,
    action: AuditAction,
    *,
    subject: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    who: str | None = None,
) -> None:
    """Append a command-line action to the audit trail, in the caller's transaction."""
    trail.append(
        conn, action=action, actor=actor(who), organisation=None, reason=reason,
        subject=subject, details=details,
    )
