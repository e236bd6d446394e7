"""``contactpoint serve`` signs checkpoints on a schedule (review finding 3).

A daemon thread asks :func:`checkpoint_if_due` every few seconds; a checkpoint is signed once
``every_entries`` entries (default 1,000) or ``every_seconds`` (default 600: ten minutes) have
passed since the last one (``CONTACTPOINT_AUDIT_CHECKPOINT_EVERY_ENTRIES`` /
``_EVERY_SECONDS``). A failure is logged by type and retried at the next tick; it never stops
the service.
"""

from __future__ import annotations

import logging
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

    def tick(self) -> None:
        try:
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
