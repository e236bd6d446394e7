"""The README's main job, end to end on the embedded default (SQLite + DuckDB), then served."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pyotp
import pytest

ROLES = {"practitioner", "council_team", "national_admin", "auditor"}
ACCOUNT = re.compile(r"^account (\S+) (\S+) (\S+) ([A-Z2-7]+)$")


def accounts_in(stdout: str) -> dict[str, tuple[str, str, str]]:
    found = {}
    for line in stdout.splitlines():
        match = ACCOUNT.match(line)
        if match:
            role, username, password, secret = match.groups()
            found[role] = (username, password, secret)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_runs_end_to_end_and_is_safe_to_rerun(tmp_path: Path) -> None:
    env = {**os.environ, "CONTACTPOINT_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "80"}
    env.pop("CONTACTPOINT_DATABASE_URL", None)
    command = [sys.executable, "-m", "contactpoint", "demo", "--children", "400", "--no-serve"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "pairwise linkage accuracy" in first.stdout
    precision = next(line for line in first.stdout.splitlines() if "precision" in line)
    assert float(precision.split()[-2]) >= 0.99
    accounts = accounts_in(first.stdout)
    assert set(accounts) == ROLES  # one line per role, unwrapped even at 80 columns

    stored = tmp_path / "var" / "demo" / "accounts.json"
    assert stored.stat().st_mode & 0o077 == 0
    assert {a["role"] for a in json.loads(stored.read_text())["accounts"]} == ROLES

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already imported" in again.stdout
    assert accounts_in(again.stdout) == accounts  # the same accounts, made once

    port = free_port()
    serving = subprocess.Popen(
        [*command[:-1], "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert serving.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = serving.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if len(accounts_in("\n".join(lines))) == len(ROLES):
                break
        url = f"http://127.0.0.1:{port}/"
        assert f"serving at {url}" in lines
        assert accounts_in("\n".join(lines)) == accounts
        assert httpx.get(f"{url}login").status_code == 200
        username, password, secret = accounts["council_team"]
        signed_in = httpx.post(
            f"{url}api/auth/login",
            json={"username": username, "password": password, "otp": pyotp.TOTP(secret).now()},
        )
        assert signed_in.status_code == 200
    finally:
        serving.send_signal(signal.SIGINT)
        serving.wait(timeout=30)
