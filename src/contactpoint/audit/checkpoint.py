"""Signed checkpoints: (tree size, RFC 6962 root, chain head, time), signed with Ed25519.

A checkpoint is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) in a signed note::

    contactpoint.local/audit
    1234
    <base64 RFC 6962 root of entries 1..1234>
    contactpoint-head <hex entry_hash of entry 1234>
    contactpoint-time 2026-11-25T15:02:31.123456Z

    — contactpoint.local/audit <base64(key id || Ed25519 signature)>

It is stored in ``audit_checkpoint`` and published as a file in the checkpoint directory (one
file per checkpoint, never overwritten), beside the verifier key ``audit-log.vkey``. Ship that
directory off the database host (see docs/security/audit.md): only a copy the database's
superuser cannot reach catches a rewritten or truncated chain.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from contactpoint.audit import chain, store, witness
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.keys import SigningKey, VerifierKey, load_or_create_signing_key
from contactpoint.audit.merkle import CompactRange
from contactpoint.audit.tables import audit_checkpoint
from contactpoint.db.base import utcnow
from contactpoint.errors import AuditChainBroken, Conflict, ValidationFailed

HEAD_PREFIX = "contactpoint-head "
TIME_PREFIX = "contactpoint-time "
FILE_PREFIX = "checkpoint-"
_CHECKPOINT_LOCK = 0x434F4E5441435450  # pg_advisory_xact_lock key ("CONTACTP")
CHECKPOINT_LOCK = _CHECKPOINT_LOCK  # held by a backup, so checkpoint files and rows agree


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes
    head_hash: str
    time: str
    note: str

    @property
    def root_hex(self) -> str:
        return self.root.hex()


def checkpoint_text(origin: str, size: int, root: bytes, head_hash: str, time: str) -> str:
    return (
        f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
        f"{HEAD_PREFIX}{head_hash}\n{TIME_PREFIX}{time}\n"
    )


def parse_checkpoint_text(body: str, note: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise ValidationFailed("checkpoint has too few lines")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValidationFailed("checkpoint tree size is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise ValidationFailed("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise ValidationFailed("checkpoint root is not 32 bytes")
    head = next((e[len(HEAD_PREFIX) :] for e in extensions if e.startswith(HEAD_PREFIX)), None)
    time = next((e[len(TIME_PREFIX) :] for e in extensions if e.startswith(TIME_PREFIX)), "")
    if head is None or len(head) != 64:
        raise ValidationFailed("checkpoint has no chain head")
    return Checkpoint(origin, int(size_text), root, head, time, note)


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """Verify the note's signature with ``key`` and parse it; ValidationFailed otherwise."""
    body = key.verify_note(note)
    checkpoint = parse_checkpoint_text(body, note)
    if checkpoint.origin != key.name:
        raise ValidationFailed("checkpoint origin is not the audit log's name")
    return checkpoint


def checkpoint_path(directory: Path, size: int) -> Path:
    return directory / f"{FILE_PREFIX}{size:012d}"


def signing_key(config: AuditConfig) -> SigningKey:
    return load_or_create_signing_key(config.key_file, config.origin)


def load_verifier_key(config: AuditConfig, explicit: Path | None = None) -> VerifierKey | None:
    """The trusted verifier key: ``explicit`` if given, else the one published beside the
    checkpoints; ``None`` when neither exists."""
    path = explicit or config.vkey_file
    if not path.exists():
        return None
    return VerifierKey.parse(path.read_text(encoding="utf-8"))


def _write_once(path: Path, content: str) -> bool:
    """Write ``content`` to a new file atomically; never replace different content."""
    if path.exists():
        if path.read_text(encoding="utf-8") != content:
            raise Conflict(f"{path} exists with different content: published files never change")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return True


def publish(engine: Engine, config: AuditConfig, key: VerifierKey) -> list[Path]:
    """Write the verifier key and every stored checkpoint missing from the checkpoint
    directory (each signature checked first); returns the files written."""
    written: list[Path] = []
    if _write_once(config.vkey_file, key.vkey() + "\n"):
        written.append(config.vkey_file)
    with engine.connect() as conn:
        rows = store.checkpoint_rows(conn)
    for row in rows:
        checkpoint = open_checkpoint(row.signed_checkpoint, key)
        path = checkpoint_path(config.checkpoint_dir, checkpoint.tree_size)
        if _write_once(path, checkpoint.note):
            written.append(path)
    return written


def read_published(directory: Path, key: VerifierKey) -> list[tuple[Path, Checkpoint | str]]:
    """Every published checkpoint file: the checkpoint, or why it does not verify."""
    found: list[tuple[Path, Checkpoint | str]] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob(f"{FILE_PREFIX}*")):
        try:
            checkpoint = open_checkpoint(path.read_text(encoding="utf-8"), key)
        except (ValidationFailed, UnicodeDecodeError) as exc:
            found.append((path, str(exc)))
            continue
        if path.name != checkpoint_path(directory, checkpoint.tree_size).name:
            found.append((path, "file name does not match the checkpoint's tree size"))
            continue
        found.append((path, checkpoint))
    return found


def frontier_text(tree: CompactRange) -> str:
    return json.dumps([node.hex() for node in tree.nodes])


def _start_from(row: Any, key: VerifierKey) -> chain.ChainWalker:
    """A walker positioned at a stored checkpoint, after checking its signature and that its
    compact range reproduces its signed root."""
    checkpoint = open_checkpoint(row.signed_checkpoint, key)
    try:
        nodes = [bytes.fromhex(h) for h in json.loads(row.frontier)]
        tree = CompactRange(checkpoint.tree_size, nodes)
    except (ValueError, TypeError) as exc:
        raise AuditChainBroken(f"checkpoint {checkpoint.tree_size}: bad compact range") from exc
    if tree.root() != checkpoint.root:
        raise AuditChainBroken(f"checkpoint {checkpoint.tree_size}: compact range ≠ signed root")
    return chain.ChainWalker(checkpoint.tree_size, checkpoint.head_hash, tree)


def create_checkpoint(engine: Engine, config: AuditConfig) -> Checkpoint | None:
    """Sign a checkpoint of the chain as it stands, store it, and publish it.

    Only the entries since the previous checkpoint are read, and each is checked before
    signing (a broken link raises :class:`AuditChainBroken`: a signature never blesses a
    tampered chain). Returns ``None`` when nothing was appended since the last checkpoint.
    """
    key = signing_key(config)
    created: Checkpoint | None = None
    count = 0
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHECKPOINT_LOCK})
        latest = store.latest_checkpoint_row(conn)
        walker = _start_from(latest, key.verifier) if latest is not None else chain.ChainWalker()
        head = store.head_row(conn)
        if head is None:
            raise AuditChainBroken("audit chain head row is missing")
        target = head[0]
        if target > walker.size:
            for row in store.stream_rows(conn, after=walker.size, upto=target):
                problem = walker.feed(row)
                if problem is not None:
                    bad = walker.size + 1
                    raise AuditChainBroken(f"entry {bad}: {problem}; checkpoint refused")
            if walker.size != target:
                raise AuditChainBroken(f"entry {walker.size + 1}: missing; checkpoint refused")
            if walker.head_hash != head[1]:
                raise AuditChainBroken("chain head row does not match the last entry")
            time = chain.canonical_time(utcnow())
            root = walker.tree.root()
            note = key.sign_note(checkpoint_text(key.name, target, root, walker.head_hash, time))
            created = open_checkpoint(note, key.verifier)
            conn.execute(
                insert(audit_checkpoint).values(
                    tree_size=target,
                    root_hash=root.hex(),
                    head_hash=walker.head_hash,
                    created_at=utcnow(),
                    key_id=key.verifier.key_id.hex(),
                    signed_checkpoint=note,
                    frontier=frontier_text(walker.tree),
                )
            )
            count = store.checkpoint_count(conn)
    publish(engine, config, key.verifier)
    if created is not None:
        witness.record(
            config.witness_file,
            witness.Witnessed(
                key_id=key.verifier.key_id.hex(),
                checkpoints=count,
                tree_size=created.tree_size,
                root_hex=created.root_hex,
                head_hash=created.head_hash,
                time=created.time,
            ),
        )
    return created


def checkpoint_if_due(
    engine: Engine,
    config: AuditConfig,
    *,
    max_entries: int = 1000,
    max_age: timedelta = timedelta(minutes=10),
) -> Checkpoint | None:
    """Sign a checkpoint when ``max_entries`` entries or ``max_age`` have passed since the
    last one (and something was appended); for a background task or a timer."""
    with engine.connect() as conn:
        head = store.head_row(conn)
        latest = store.latest_checkpoint_row(conn)
    if head is None or head[0] == 0:
        return None
    if latest is not None:
        behind = head[0] - int(latest.tree_size)
        if behind <= 0:
            return None
        if behind < max_entries and utcnow() - latest.created_at < max_age:
            return None
    return create_checkpoint(engine, config)
