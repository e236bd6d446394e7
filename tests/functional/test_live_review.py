"""Review findings against a live ``contactpoint serve`` (SQLite file, real uvicorn).

11: ``X-Forwarded-For`` is believed only from configured proxies (off by default).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from contactpoint.db import migrate
from live_server import serving


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    if not (tmp_path / "live.sqlite3").exists():
        migrate.upgrade(url)
    return {
        "CONTACTPOINT_DATABASE_URL": url,
        "CONTACTPOINT_VAR_DIR": str(tmp_path / "var"),
        "CONTACTPOINT_ADDRESS_THROTTLE_FAILURES": "2",
        "CONTACTPOINT_ARGON2_TIME_COST": "2",
        "CONTACTPOINT_ARGON2_MEMORY_KIB": "19456",
        "CONTACTPOINT_ARGON2_PARALLELISM": "1",
        **extra,
    }


def _three_spoofed_failures(base: str, prefix: str) -> list[int]:
    statuses = []
    for i in range(3):
        answer = httpx.post(
            f"{base}/api/auth/login",
            json={"username": f"{prefix}-{i}", "password": "x" * 20, "otp": "000000"},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            timeout=30,
        )
        statuses.append(answer.status_code)
    return statuses


def test_forwarded_for_is_ignored_unless_the_proxy_is_configured(tmp_path: Path) -> None:
    with serving(_env(tmp_path), tmp_path / "serve.log") as base:
        # Every attempt comes from 127.0.0.1 whatever the header says: the third is throttled.
        assert _three_spoofed_failures(base, "nobody") == [401, 401, 429]
    with serving(_env(tmp_path, CONTACTPOINT_TRUSTED_PROXIES="127.0.0.1"),
                 tmp_path / "serve.log") as base:
        # Behind a configured proxy the forwarded address is the client's.
        assert _three_spoofed_failures(base, "someone") == [401, 401, 401]
