"""Typed settings, read from the environment (prefix ``CONTACTPOINT_``).

Nothing happens at import: call :func:`load_settings` where configuration is needed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where local state lives.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means a SQLite file under var_dir.",
    )
    reject_limit: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Refuse a file whose reject rate passes this."
    )
    max_xml_bytes: int = Field(default=512 * 1024 * 1024, description="Byte cap on one XML file.")
    linkage_dir: Path | None = Field(
        default=None, description="Where linkage artefacts live; default var_dir/linkage."
    )
    view_window_hours: float = Field(
        default=24.0, gt=0, le=24 * 14,
        description="A child view needs the same user's search that returned the child "
        "within this many hours (or an involvement of the user's organisation).",
    )

    serve_workers: int = Field(
        default=0, ge=0, le=64,
        description="`serve`: server processes (0: one per CPU core on PostgreSQL, one on "
        "SQLite, whose single writer several processes would only queue behind).",
    )

    db_pool_size: int = Field(
        default=20, ge=1, le=200,
        description="`serve`, PostgreSQL: connections each server process keeps open. A request "
        "beyond them opens one of up to 10 more, closed again when it is returned: a new "
        "server backend each time, which costs more CPU than the search it serves.",
    )

    metrics_port: int = Field(
        default=0, ge=0, le=65535,
        description="`serve`: Prometheus metrics on this port (0: off). Never on the app's port.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="`serve`: the address the metrics server binds."
    )

    @property
    def effective_serve_workers(self) -> int:
        if self.serve_workers:
            return self.serve_workers
        if self.effective_database_url.startswith("sqlite"):
            return 1
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else (os.cpu_count() or 1))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'contactpoint.sqlite3').resolve()}"

    @property
    def effective_linkage_dir(self) -> Path:
        return self.linkage_dir or self.var_dir / "linkage"


def load_settings() -> Settings:
    """Settings from the environment; the state directory is made private (0700)."""
    settings = Settings()
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = settings.var_dir.stat()
    if found.st_uid == os.getuid() and stat.S_IMODE(found.st_mode) & 0o077:
        settings.var_dir.chmod(0o700)  # holds the database, keys and reports: owner only
    return settings
