"""Several server processes: one checkpoint signer at a time (a file lock), taken over when
the signer stops."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from contactpoint.audit.config import AuditConfig
from contactpoint.audit.timer import CheckpointTimer


def _timer(tmp_path: Path) -> CheckpointTimer:
    config = AuditConfig(checkpoint_dir=tmp_path / "cp", key_file=tmp_path / "key.pem",
                         witness=tmp_path / "audit-witness.log")
    return CheckpointTimer(create_engine("sqlite://"), config)


def test_one_signer_at_a_time_and_the_next_takes_over(tmp_path: Path) -> None:
    first, second = _timer(tmp_path), _timer(tmp_path)
    assert first.signs()
    assert first.signs()  # keeps it
    assert not second.signs()
    first.stop()
    assert second.signs()
    second.stop()


def test_another_process_holding_the_lock_keeps_this_one_from_signing(tmp_path: Path) -> None:
    lock = tmp_path / "audit-witness.log.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        timer = _timer(tmp_path)
        assert not timer.signs()
    finally:
        holder.kill()
        holder.wait()
    assert timer.signs()  # the holder exited: its lock went with it
    timer.stop()
