"""Where checkpoints are published and where the signing key lives.

Environment (all optional): ``CONTACTPOINT_AUDIT_CHECKPOINT_DIR`` (default
``<var_dir>/audit-checkpoints``), ``CONTACTPOINT_AUDIT_KEY_FILE`` (default
``<var_dir>/audit-signing-key.pem``), ``CONTACTPOINT_AUDIT_ORIGIN`` (the log's name in its
checkpoints and the key name; default ``contactpoint.local/audit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contactpoint.settings import Settings

VKEY_FILE_NAME = "audit-log.vkey"


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_AUDIT_", extra="ignore")

    checkpoint_dir: Path | None = None
    key_file: Path | None = None
    witness_file: Path | None = None
    origin: str = "contactpoint.local/audit"
    # ``contactpoint serve`` signs a checkpoint when either is reached (review finding 3).
    checkpoint_every_seconds: int = Field(default=600, ge=1, le=24 * 3600)
    checkpoint_every_entries: int = Field(default=1000, ge=1)


@dataclass(frozen=True)
class AuditConfig:
    checkpoint_dir: Path
    key_file: Path
    origin: str = "contactpoint.local/audit"
    witness: Path | None = None
    every_seconds: int = 600
    every_entries: int = 1000

    @property
    def witness_file(self) -> Path:
        """The append-only witness (default: beside the checkpoint directory)."""
        return self.witness or self.checkpoint_dir.parent / "audit-witness.log"

    @property
    def vkey_file(self) -> Path:
        """The public (verifier) key, published beside the checkpoints."""
        return self.checkpoint_dir / VKEY_FILE_NAME

    @classmethod
    def from_settings(cls, settings: Settings, audit: AuditSettings | None = None) -> AuditConfig:
        audit = audit if audit is not None else AuditSettings()
        return cls(
            checkpoint_dir=audit.checkpoint_dir or settings.var_dir / "audit-checkpoints",
            key_file=audit.key_file or settings.var_dir / "audit-signing-key.pem",
            origin=audit.origin,
            witness=audit.witness_file or settings.var_dir / "audit-witness.log",
            every_seconds=audit.checkpoint_every_seconds,
            every_entries=audit.checkpoint_every_entries,
        )
