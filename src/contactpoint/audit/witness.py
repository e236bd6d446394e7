"""The checkpoint witness: an append-only record, outside the database, of what was signed.

Each signed checkpoint appends one JSON line — key id, how many checkpoints exist, tree size,
Merkle root, chain head — to the witness file (``CONTACTPOINT_AUDIT_WITNESS_FILE``, default
``<var_dir>/audit-witness.log``; opened ``O_APPEND``, mode 0600, fsynced). ``audit verify``
then refuses a chain that was ever checkpointed when its verifier key, its latest checkpoint
or its stored checkpoints are gone (review finding 3). Put the file where the database's
users cannot rewrite it: another OS user's directory with ``chattr +a``, a WORM bucket, or a
second machine (docs/security/audit.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from contactpoint.errors import ValidationFailed


@dataclass(frozen=True)
class Witnessed:
    key_id: str
    checkpoints: int
    tree_size: int
    root_hex: str
    head_hash: str
    time: str


def record(path: Path, entry: Witnessed) -> None:
    """Append one line (never rewrites what is there)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps(
        {"v": 1, "key_id": entry.key_id, "checkpoints": entry.checkpoints,
         "tree_size": entry.tree_size, "root": entry.root_hex, "head": entry.head_hash,
         "time": entry.time},
        sort_keys=True,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_all(path: Path) -> list[Witnessed]:
    """Every line of the witness file, oldest first; [] when there is no file."""
    if not path.exists():
        return []
    found = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                found.append(Witnessed(
                    key_id=str(data["key_id"]),
                    checkpoints=int(data["checkpoints"]),
                    tree_size=int(data["tree_size"]),
                    root_hex=str(data["root"]),
                    head_hash=str(data["head"]),
                    time=str(data["time"]),
                ))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValidationFailed(f"witness file {path}: line {number} is unreadable") from exc
    return found
