"""A real ``contactpoint serve`` in a subprocess, for tests that need the whole stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """Start ``contactpoint serve`` with ``env`` added; yields its base URL; stops it after.
    Its stdout and stderr go to ``log``."""
    port = free_port()
    path = f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    full = {**os.environ, **env, "PYTHONPATH": path}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "contactpoint", "serve", "--port", str(port)],
            env=full, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not start in 30 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
