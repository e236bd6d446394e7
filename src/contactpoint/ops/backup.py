"""``contactpoint backup DIR`` / ``restore DIR``: one consistent copy of everything the index is.

A backup holds the database, the linkage models (``<linkage_dir>/models``: the trained model in
use), the engine's store of prepared existing records (``<linkage_dir>/engine``; a cache the next
link run rebuilds if it is missing or does not match), the audit signing key and the published
checkpoints, and ``manifest.json`` with the SHA-256 of every file.

Consistency, online:

* PostgreSQL: the backup holds the link-run lock and the checkpoint lock (so no link run,
  merge or checkpoint happens while it copies) and dumps with ``pg_dump`` from a snapshot it
  exported itself, from which it also reads the manifest's counts. Imports, searches and audit
  appends carry on; what they commit after the snapshot is not in the backup.
* SQLite: the online backup API inside a ``BEGIN IMMEDIATE`` transaction: writers wait
  (``busy_timeout`` 30 s) while the database and the files are copied; readers carry on.

The engine's store is kept only if the mark it holds names database state the snapshot has
(its last link event is in the snapshot); otherwise it is left out and the next link run reads
every existing record again, which is always correct. Restored into another database (another
URL), the store's mark names the old database, so the next run rebuilds it anyway.

``restore`` checks every hash first, then writes only into empty places: an empty database
(SQLite: no file yet; PostgreSQL: a database with no tables, e.g. just made by ``createdb``),
and a linkage directory, checkpoint directory and key file that do not exist yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

import contactpoint
from contactpoint.audit import trail
from contactpoint.audit.checkpoint import CHECKPOINT_LOCK
from contactpoint.audit.config import AuditConfig
from contactpoint.db import migrate
from contactpoint.db.base import utcnow
from contactpoint.db.engine import make_engine
from contactpoint.errors import ContactPointError
from contactpoint.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
LINKAGE = "linkage"
CHECKPOINTS = "audit/checkpoints"
KEY_FILE = "audit/signing-key.pem"
WITNESS_FILE = "audit/witness.log"  # the append-only record of every checkpoint
STORE_FILE = "existing.duckdb"  # the engine's store, in <linkage_dir>/engine (linkage.prepared)


class BackupRefused(ContactPointError):
    code = "backup_refused"


@dataclass(frozen=True)
class Locations:
    """Where the index keeps its state, from the settings."""

    database_url: str
    linkage_dir: Path
    checkpoint_dir: Path
    key_file: Path
    witness_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Locations:
        audit = AuditConfig.from_settings(settings)
        return cls(settings.effective_database_url, settings.effective_linkage_dir,
                   audit.checkpoint_dir, audit.key_file, audit.witness_file)

    @property
    def backend(self) -> str:
        return make_url(self.database_url).get_backend_name()


# ---------------------------------------------------------------- backup


def backup(where: Locations, directory: Path, *, actor: str) -> dict[str, Any]:
    """Write a consistent backup into ``directory`` (new or empty); returns the manifest."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupRefused(f"{directory} exists and is not an empty directory")
    if where.backend not in ("sqlite", "postgresql"):
        raise BackupRefused(f"cannot back up a {where.backend} database")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)  # it holds the audit signing key and personal data
    engine = make_engine(where.database_url)
    try:
        with engine.begin() as conn:  # in the backup itself: the trail says a copy was taken
            trail.append(conn, action=trail.AuditAction.BACKUP, actor=actor, organisation=None,
                         details={"to": str(directory.resolve())})
    finally:
        engine.dispose()
    snapshot = _snapshot_postgres if where.backend == "postgresql" else _snapshot_sqlite
    with snapshot(where, directory) as counts:
        notes = _copy_files(where, directory, counts["last_link_event"])
    manifest = {
        "format": FORMAT, "created_at": utcnow().isoformat(),
        "contactpoint_version": contactpoint.__version__, "backend": where.backend,
        "schema": counts.pop("schema"), "counts": counts, "notes": notes,
        "files": _hashes(directory),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _counts(conn: Connection) -> dict[str, Any]:
    def one(sql: str) -> int:
        return int(conn.execute(text(sql)).scalar_one())

    return {
        "schema": sorted(str(v) for (v,) in conn.execute(text(
            "SELECT version_num FROM alembic_version"))),
        "audit_entries": one("SELECT COALESCE(MAX(seq), 0) FROM audit_event"),
        "audit_checkpoints": one("SELECT COUNT(*) FROM audit_checkpoint"),
        "source_records": one("SELECT COUNT(*) FROM source_record"),
        "children": one("SELECT COUNT(*) FROM child"),
        "last_link_event": one("SELECT COALESCE(MAX(id), 0) FROM link_event"),
    }


@contextmanager
def _snapshot_sqlite(where: Locations, directory: Path) -> Iterator[dict[str, Any]]:
    source = make_url(where.database_url).database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise BackupRefused(f"no SQLite database file at {source!r}")
    writers = sqlite3.connect(source, isolation_level=None, timeout=30)
    try:
        writers.execute("BEGIN IMMEDIATE")  # writers wait until the files are copied too
        src, dst = sqlite3.connect(source, timeout=30), sqlite3.connect(directory / SQLITE_FILE)
        try:  # from another connection: the backup API cannot read through the locking one
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        engine = make_engine(where.database_url)
        try:
            with engine.connect() as conn:  # a reader: sees what the writer lock froze
                counts = _counts(conn)
        finally:
            engine.dispose()
        yield counts
    finally:
        writers.execute("ROLLBACK")
        writers.close()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if found is None:
        raise BackupRefused(f"{name} not found on PATH: install the PostgreSQL client tools "
                            "(the server's major version or newer)")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment carrying it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


@contextmanager
def _snapshot_postgres(where: Locations, directory: Path) -> Iterator[dict[str, Any]]:
    from contactpoint.linking import store

    dump = _pg_tool("pg_dump")
    engine = make_engine(where.database_url)
    try:
        with engine.connect() as locks, locks.begin():
            store.lock_linkage(locks)  # no link run, merge or unmerge while we copy
            locks.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHECKPOINT_LOCK})
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as snap, \
                    snap.begin():
                snapshot_id = snap.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = _counts(snap)
                uri, env = _libpq(where.database_url)
                done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                    [dump, "--format=custom", f"--snapshot={snapshot_id}", "--no-password",
                     f"--file={directory / PG_FILE}", f"--dbname={uri}"],
                    env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise BackupRefused(f"pg_dump failed: {done.stderr.strip()[:500]}")
                yield counts
    finally:
        engine.dispose()


def _store_problem(store: Path, last_link_event: int) -> str | None:
    """Why the engine's store may not go into the backup (``None``: it may)."""
    from contactpoint.matching import engine

    try:
        held = engine.existing_mark(store.parent)
    except Exception:
        return "in use by a link run"
    if held is None:
        return "not usable as it stands (no mark)"
    if int(json.loads(held)["last_event_id"]) > last_link_event:
        return "newer than the database snapshot"
    return None


def _copy_files(where: Locations, directory: Path, last_link_event: int) -> list[str]:
    notes: list[str] = []
    models = where.linkage_dir / "models"
    if models.is_dir():
        shutil.copytree(models, directory / LINKAGE / "models")
    store = where.linkage_dir / "engine" / STORE_FILE
    if store.is_file():
        problem = _store_problem(store, last_link_event)
        if problem is None:
            target = directory / LINKAGE / "engine"
            target.mkdir(parents=True)
            for part in (store, store.with_name(STORE_FILE + ".wal")):
                if part.is_file():
                    shutil.copy2(part, target / part.name)
        else:
            notes.append(f"engine store left out ({problem}): the next link run reads every "
                         "existing record again")
    if where.checkpoint_dir.is_dir():
        shutil.copytree(where.checkpoint_dir, directory / CHECKPOINTS,
                        ignore=shutil.ignore_patterns(".*.tmp"))
    if where.key_file.is_file():
        (directory / KEY_FILE).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(where.key_file, directory / KEY_FILE)
        (directory / KEY_FILE).chmod(0o600)
    else:
        notes.append("no audit signing key yet (no checkpoint was ever signed)")
    if where.witness_file is not None and where.witness_file.is_file():
        (directory / WITNESS_FILE).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(where.witness_file, directory / WITNESS_FILE)
    return notes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _hashes(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(directory).as_posix(): {"sha256": _sha256(path),
                                                 "bytes": path.stat().st_size}
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


# ---------------------------------------------------------------- restore


def check(directory: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file against it."""
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupRefused(f"{directory} is not a backup: no {MANIFEST}") from exc
    except json.JSONDecodeError as exc:
        raise BackupRefused(f"{directory / MANIFEST} is not JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    found = _hashes(directory)
    listed: dict[str, dict[str, Any]] = manifest["files"]
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise BackupRefused(f"backup damaged: {name} is missing")
        if name not in listed:
            raise BackupRefused(f"backup damaged: {name} is not in the manifest")
        if found[name]["sha256"] != listed[name]["sha256"]:
            raise BackupRefused(f"backup damaged: {name} does not match its SHA-256")
    return manifest


def _occupied(where: Locations) -> list[str]:
    taken = [str(p) for p in (where.linkage_dir / "models", where.linkage_dir / "engine",
                              where.checkpoint_dir) if p.is_dir() and any(p.iterdir())]
    for path in (where.key_file, where.witness_file):
        if path is not None and path.exists():
            taken.append(str(path))
    return taken


def restore(where: Locations, directory: Path, *, actor: str) -> dict[str, Any]:
    """Restore the backup in ``directory`` into empty places; returns its manifest."""
    manifest = check(directory)
    if manifest["backend"] != where.backend:
        raise BackupRefused(f"a {manifest['backend']} backup restores into a "
                            f"{manifest['backend']} database, not {where.backend}")
    taken = _occupied(where)
    if taken:
        raise BackupRefused("restore writes only into empty places; already there: "
                            + ", ".join(taken))
    if where.backend == "sqlite":
        _restore_sqlite(where, directory / SQLITE_FILE)
    else:
        _restore_postgres(where, directory / PG_FILE)
    if (directory / LINKAGE).is_dir():
        shutil.copytree(directory / LINKAGE, where.linkage_dir, dirs_exist_ok=True)
    if (directory / CHECKPOINTS).is_dir():
        shutil.copytree(directory / CHECKPOINTS, where.checkpoint_dir, dirs_exist_ok=True)
    if (directory / KEY_FILE).is_file():
        where.key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(where.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write((directory / KEY_FILE).read_bytes())
    if (directory / WITNESS_FILE).is_file() and where.witness_file is not None:
        where.witness_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(directory / WITNESS_FILE, where.witness_file)
    engine = make_engine(where.database_url)
    try:
        with engine.begin() as conn:
            trail.append(conn, action=trail.AuditAction.RESTORE, actor=actor, organisation=None,
                         details={"from": str(directory.resolve()),
                                  "backup_created_at": manifest["created_at"],
                                  "audit_entries": manifest["counts"]["audit_entries"]})
    finally:
        engine.dispose()
    if set(manifest["schema"]) != {migrate.HEAD}:
        manifest["notes"] = [*manifest["notes"], "the backup's schema is older than this "
                             "version: run `contactpoint db upgrade`"]
    return manifest


def _restore_sqlite(where: Locations, source: Path) -> None:
    target = make_url(where.database_url).database
    if not target or target == ":memory:":
        raise BackupRefused("restore needs a SQLite database file URL")
    path = Path(target)
    if path.exists() and path.stat().st_size > 0:
        raise BackupRefused(f"restore writes only into an empty database: {path} exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _restore_postgres(where: Locations, source: Path) -> None:
    engine = make_engine(where.database_url)
    try:
        with engine.connect() as conn:
            tables = int(conn.execute(text(
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one())
    finally:
        engine.dispose()
    if tables:
        raise BackupRefused(f"restore writes only into an empty database: "
                            f"{make_url(where.database_url).database} has {tables} tables")
    uri, env = _libpq(where.database_url)
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
         "--no-password", f"--dbname={uri}", str(source)],
        env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupRefused(f"pg_restore failed: {done.stderr.strip()[:500]}")
