"""Which exit code and line a failure gets (the real-process tests are in
tests/integration/test_cli_failures.py; these cover the cases hard to cause on demand)."""

from __future__ import annotations

import errno
import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from contactpoint.cli.failures import ExitCode, classify
from contactpoint.errors import FeedRefused, SchemaBehind

URL = "postgresql+psycopg://app:hunter2@db:5432/cp"


@pytest.mark.parametrize(
    ("exc", "code", "says"),
    [
        (OperationalError("SELECT 1", {}, psycopg.errors.DiskFull("could not extend file")),
         ExitCode.DISK_FULL, "disk full"),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")),
         ExitCode.DISK_FULL, "disk full"),
        (OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked")),
         ExitCode.DATABASE_BUSY, "database busy"),
        (OperationalError("UPDATE", {}, psycopg.errors.DeadlockDetected("deadlock detected")),
         ExitCode.DATABASE_BUSY, "database busy"),
        (OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating")),
         ExitCode.DATABASE_UNREACHABLE, "database unreachable: postgresql+psycopg://app:***@db"),
        (ProgrammingError("SELECT", {}, psycopg.errors.InsufficientPrivilege("permission denied")),
         ExitCode.PERMISSION_DENIED, "permission denied by"),
        (OSError(errno.ENOSPC, "No space left on device", "/srv/out.csv"),
         ExitCode.DISK_FULL, "disk full: no space left on device: /srv/out.csv"),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/feeds"),
         ExitCode.PERMISSION_DENIED, "permission denied: /srv/feeds"),
        (FileNotFoundError(errno.ENOENT, "No such file", "feeds/a.csv"),
         ExitCode.PATH_MISSING, "no such file: feeds/a.csv"),
        (SchemaBehind("run `contactpoint db upgrade` first"), ExitCode.SCHEMA_BEHIND, "db upgrade"),
        (FeedRefused("a.csv: bad header"), ExitCode.FAILED, "a.csv: bad header"),
        (KeyError("x"), ExitCode.INTERNAL, "internal error: KeyError"),
    ],
)
def test_classify(exc: Exception, code: ExitCode, says: str) -> None:
    failure = classify(exc, URL)
    assert failure.code == code
    assert says in failure.message
    assert "hunter2" not in failure.message
