"""``contactpoint serve`` signs checkpoints on a schedule (review finding 3).

A daemon thread asks :func:`checkpoint_if_due` every few seconds; a checkpoint is signed once
``every_entries`` entries (default 1,000) or ``every_seconds`` (default 600: ten minutes) have
passed since the last one (``CONTACTPOINT_AUDIT_CHECKPOINT_EVERY_ENTRIES`` /
``_EVERY_SECONDS``). A failure is logged by type and retried at the next tick; it never stops
the service.

``serve`` may run several processes (one per core): each has a timer, but only the one
holding an exclusive lock on ``<witness file>.lock`` signs (taken at a tick, kept while the
process lives; the next process takes it over if that one exits). Two signers could append
their witness lines in the other order than their checkpoints were stored.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from datetime import timedelta

from sqlalchemy import Engine

from contactpoint.audit.checkpoint import checkpoint_if_due
from contactpoint.audit.config import AuditConfig

log = logging.getLogger("contactpoint.audit")
POLL_SECONDS = 5.0


class CheckpointTimer:
    def __init__(self, engine: Engine, config: AuditConfig) -> None:
        self.engine = engine
        self.config = config
        self.poll = min(POLL_SECONDS, float(config.every_seconds))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._signer: int | None = None  # the open, locked lock file while this process signs

    def signs(self) -> bool:
        """Whether this process is the server's signer (takes the lock when it is free)."""
        if self._signer is None:
            path = self.config.witness_file.with_name(self.config.witness_file.name + ".lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._signer = fd
        return True

    def tick(self) -> None:
        try:
            if not self.signs():
                return
            made = checkpoint_if_due(
                self.engine,
                self.config,
                max_entries=self.config.every_entries,
                max_age=timedelta(seconds=self.config.every_seconds),
            )
        except Exception as exc:
            log.error("audit checkpoint failed", extra={"error_type": type(exc).__name__})
            return
        if made is not None:
            log.info("audit checkpoint", extra={"tree_size": made.tree_size})

    def _run(self) -> None:
        self.tick()
        while not self._stop.wait(self.poll):
            self.tick()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._signer is not None:
            os.close(self._signer)  # releases the lock
            self._signer = None
