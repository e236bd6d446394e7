"""Failures an operator can cause: one clear line on standard error and a documented exit
code (docs/operations.md); the traceback only under ``contactpoint --debug``.

The exit codes follow BSD ``sysexits.h``, so a scheduler can tell a fault in its
surroundings (a database down, a disk full) from a refused feed (1) or a usage error (2).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from contactpoint.errors import ContactPointError, PathMissing, SchemaBehind


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the command ran and says no: a refused feed, a broken audit chain, a rule
    USAGE = 2  # a wrong option or argument (click's own)
    PATH_MISSING = 66  # EX_NOINPUT: a file or directory named on the command line is not there
    INTERNAL = 70  # EX_SOFTWARE: a fault of ours; re-run with --debug and report it
    DISK_FULL = 74  # EX_IOERR: no space left on a device (a file or the database)
    DATABASE_UNREACHABLE = 69  # EX_UNAVAILABLE: cannot connect to the database
    DATABASE_BUSY = 75  # EX_TEMPFAIL: a lock or serialisation conflict held too long: retry
    PERMISSION_DENIED = 77  # EX_NOPERM: the OS or the database refused access
    SCHEMA_BEHIND = 78  # EX_CONFIG: the database is at an older migration: `db upgrade`


@dataclass(frozen=True)
class Failure:
    code: ExitCode
    message: str


_PG_PRIVILEGE = {"42501"}  # insufficient_privilege
_PG_DISK_FULL = {"53100"}  # disk_full
_PG_AUTH_CLASS = "28"  # invalid authorisation (a wrong password or a role that may not log in)
_PG_CONNECTION_CLASS = "08"
_PG_NO_DATABASE = {"3D000"}  # invalid_catalog_name: the database named in the URL
_PG_SHUTDOWN = "57P"  # admin_shutdown, crash_shutdown, cannot_connect_now
_PG_BUSY = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialisation failure


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(text).__name__


def _safe_url(url: str | None) -> str:
    if not url:
        return "the database"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL we cannot parse is shown as nothing at all
        return "the database"


def _os_failure(exc: OSError) -> Failure | None:
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return Failure(ExitCode.DISK_FULL, f"disk full: no space left on device{where}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Failure(ExitCode.PERMISSION_DENIED, f"permission denied{where}")
    if exc.errno == errno.ENOENT:
        return Failure(ExitCode.PATH_MISSING, f"no such file{where}")
    return None


def _database_failure(exc: DBAPIError, url: str | None) -> Failure | None:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or ""
    detail = _first_line(orig)
    where = _safe_url(url)
    if sqlstate in _PG_DISK_FULL or "disk is full" in detail:
        return Failure(ExitCode.DISK_FULL, f"disk full: the database cannot grow ({detail})")
    if (sqlstate in _PG_PRIVILEGE or sqlstate.startswith(_PG_AUTH_CLASS)
            or "readonly database" in detail):
        return Failure(ExitCode.PERMISSION_DENIED, f"permission denied by {where}: {detail}")
    if sqlstate in _PG_BUSY or "database is locked" in detail:
        return Failure(ExitCode.DATABASE_BUSY, f"database busy: {detail}; try again")
    connecting = (exc.connection_invalidated or sqlstate.startswith(_PG_CONNECTION_CLASS)
                  or sqlstate.startswith(_PG_SHUTDOWN))
    if connecting or sqlstate in _PG_NO_DATABASE or (
            type(orig).__name__ == "OperationalError" and not sqlstate):
        return Failure(ExitCode.DATABASE_UNREACHABLE, f"database unreachable: {where}: {detail}")
    return None


def classify(exc: BaseException, database_url: str | None = None) -> Failure:
    """What to tell the operator about ``exc``, and with which exit code."""
    if isinstance(exc, SchemaBehind):
        return Failure(ExitCode.SCHEMA_BEHIND, exc.message)
    if isinstance(exc, PathMissing):
        return Failure(ExitCode.PATH_MISSING, exc.message)
    if isinstance(exc, OSError) and (found := _os_failure(exc)):
        return found
    if isinstance(exc, DBAPIError) and (found := _database_failure(exc, database_url)):
        return found
    if isinstance(exc, ContactPointError):
        return Failure(ExitCode.FAILED, exc.message)
    if isinstance(exc, SQLAlchemyError):
        return Failure(ExitCode.INTERNAL, f"database error: {_first_line(exc)}")
    return Failure(ExitCode.INTERNAL, f"internal error: {type(exc).__name__}: {_first_line(exc)}")
