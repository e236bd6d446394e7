"""Run the real ``contactpoint`` command in a child process, as an operator's script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def cli_env(var_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CONTACTPOINT_VAR_DIR": str(var_dir), **extra}
    env.pop("CONTACTPOINT_LINKAGE_DIR", None)
    env.pop("CONTACTPOINT_AUDIT_CHECKPOINT_DIR", None)
    env.pop("CONTACTPOINT_AUDIT_KEY_FILE", None)
    if database_url is None:
        env.pop("CONTACTPOINT_DATABASE_URL", None)
    else:
        env["CONTACTPOINT_DATABASE_URL"] = database_url
    return env


def run(args: list[str], env: dict[str, str], *, stdin: str | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contactpoint", *args], env=env, capture_output=True, text=True,
        timeout=timeout, input=stdin, check=False,
    )


def run_json(args: list[str], env: dict[str, str], *, expect: int = 0,
             stdin: str | None = None) -> Any:
    """Run with ``--json``: standard output must be exactly one JSON document."""
    done = run([*args, "--json"], env, stdin=stdin)
    assert done.returncode == expect, (args, done.returncode, done.stdout, done.stderr[-3000:])
    return json.loads(done.stdout)  # raises on anything before or after the one document
