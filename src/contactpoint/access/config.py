"""Access settings (environment prefix ``CONTACTPOINT_``) and the injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contactpoint.access.passwords import HashParameters
from contactpoint.db.base import utcnow

Clock = Callable[[], datetime]

SESSION_COOKIE = "__Host-contactpoint-session"


def system_clock() -> datetime:
    return utcnow()


class AccessSettings(BaseSettings):
    """Security limits. Defaults are the production values (docs/security/access.md)."""

    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_", extra="ignore")

    # argon2id: RFC 9106's second recommended profile (t=3, 64 MiB, p=4) by default.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    session_idle_minutes: int = Field(default=30, ge=1, le=30)
    session_absolute_hours: int = Field(default=12, ge=1, le=12)
    reauth_minutes: int = Field(default=5, ge=1, le=5)

    lockout_threshold: int = Field(default=10, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1)
    suspend_after_failures: int = Field(default=100, ge=1, le=100)
    address_throttle_failures: int = Field(default=100, ge=1)
    address_throttle_window_minutes: int = Field(default=15, ge=1)
    token_throttle_failures: int = Field(default=20, ge=1, le=100)

    totp_window_steps: int = Field(default=1, ge=0, le=1)
    totp_issuer: str = "Contactpoint"

    access_token_seconds: int = Field(default=300, ge=30, le=3600)
    assertion_max_lifetime_seconds: int = Field(default=300, ge=30, le=300)

    public_origin: str = Field(
        default="",
        description=(
            "e.g. https://contactpoint.example.gov.uk: the audience of client assertions and "
            "the advertised token URL. Empty: machine-client routes are off (503)."
        ),
    )

    @field_validator("public_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        """``https://host[:port]`` (``http`` only on a loopback host), nothing after it."""
        if not value:
            return value
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if (
            parts.scheme not in ("https", "http")
            or (parts.scheme == "http" and not loopback)
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise ValueError("public_origin must be https://host[:port] (http only on loopback)")
        return value.rstrip("/")

    @property
    def hash_parameters(self) -> HashParameters:
        return HashParameters(
            time_cost=self.argon2_time_cost,
            memory_kib=self.argon2_memory_kib,
            parallelism=self.argon2_parallelism,
        )


def load_access_settings() -> AccessSettings:
    return AccessSettings()
