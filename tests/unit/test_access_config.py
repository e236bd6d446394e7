"""Review finding 13: configuration cannot weaken the policy (start-up refuses)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from contactpoint.access.config import ConfigurationRefused, load_access_settings

WEAK = [
    ("ARGON2_TIME_COST", "1"),
    ("ARGON2_MEMORY_KIB", "8"),
    ("ARGON2_MEMORY_KIB", "19455"),
    ("LOCKOUT_MINUTES", "1"),
    ("LOCKOUT_MINUTES", "14"),
    ("LOCKOUT_THRESHOLD", "11"),
    ("LOCKOUT_THRESHOLD", "100"),
    ("SUSPEND_AFTER_FAILURES", "101"),
    ("ADDRESS_THROTTLE_FAILURES", "1000"),
    ("ADDRESS_THROTTLE_WINDOW_MINUTES", "1"),
    ("TOKEN_THROTTLE_FAILURES", "1000"),
]


@pytest.mark.parametrize(("name", "value"), WEAK)
def test_a_weaker_setting_refuses_to_load(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"CONTACTPOINT_{name}", value)
    with pytest.raises(ConfigurationRefused) as refused:
        load_access_settings()
    assert f"CONTACTPOINT_{name}" in refused.value.message


def test_the_policy_floor_itself_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ARGON2_TIME_COST": "2", "ARGON2_MEMORY_KIB": "19456",
                        "ARGON2_PARALLELISM": "1", "LOCKOUT_MINUTES": "15"}.items():
        monkeypatch.setenv(f"CONTACTPOINT_{name}", value)
    settings = load_access_settings()
    assert (settings.argon2_time_cost, settings.argon2_memory_kib) == (2, 19456)


def test_serve_refuses_to_start_below_the_floors(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from contactpoint.cli.main import app

    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append((a, k)))
    monkeypatch.setenv("CONTACTPOINT_ARGON2_MEMORY_KIB", "8")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "CONTACTPOINT_ARGON2_MEMORY_KIB" in result.output
    assert started == []
