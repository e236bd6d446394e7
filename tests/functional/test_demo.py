"""The README's main job, end to end on the embedded default (SQLite + DuckDB)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end_and_is_safe_to_rerun(tmp_path: Path) -> None:
    env = {**os.environ, "CONTACTPOINT_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    env.pop("CONTACTPOINT_DATABASE_URL", None)
    command = [sys.executable, "-m", "contactpoint", "demo", "--children", "400", "--no-serve"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "pairwise linkage accuracy" in first.stdout
    precision = next(line for line in first.stdout.splitlines() if "precision" in line)
    assert float(precision.split()[-2]) >= 0.99

    credentials = tmp_path / "var" / "demo" / "credentials.json"
    assert credentials.stat().st_mode & 0o077 == 0
    assert set(json.loads(credentials.read_text())) == {"username", "password", "totp_secret"}
    council = json.loads((tmp_path / "var" / "demo" / "council-credentials.json").read_text())
    assert council["username"] == "demo.council"
    assert len(council["la_code"]) == 3  # a real (synthetic England) council that owns children
    assert len(council["shielded_children"].split()) == 5

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already imported" in again.stdout
