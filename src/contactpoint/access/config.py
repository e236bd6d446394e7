"""Access settings (environment prefix ``CONTACTPOINT_``) and the injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contactpoint.access.passwords import HashParameters
from contactpoint.db.base import utcnow
from contactpoint.errors import ContactPointError

Clock = Callable[[], datetime]

SESSION_COOKIE = "__Host-contactpoint-session"
ARGON2_MIN_TIME_COST = 2
ARGON2_MIN_MEMORY_KIB = 19 * 1024


def system_clock() -> datetime:
    return utcnow()


class AccessSettings(BaseSettings):
    """Security limits. Defaults are the production values (docs/security/access.md)."""

    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_", extra="ignore")

    # argon2id: RFC 9106's second recommended profile (t=3, 64 MiB, p=4) by default. The
    # floors are the policy's minimum (OWASP Password Storage Cheat Sheet: 19 MiB, t=2, p=1):
    # configuration below them refuses to start (review finding 13). Tests that need cheap
    # hashes build their settings with ``model_construct`` (access/testing.py), never env.
    argon2_time_cost: int = Field(default=3, ge=ARGON2_MIN_TIME_COST, le=10)
    argon2_memory_kib: int = Field(default=65536, ge=ARGON2_MIN_MEMORY_KIB, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)

    session_idle_minutes: int = Field(default=30, ge=1, le=30)
    session_absolute_hours: int = Field(default=12, ge=1, le=12)
    reauth_minutes: int = Field(default=5, ge=1, le=5)

    # Lockout and throttles (docs/security/access.md): never looser than the policy.
    lockout_threshold: int = Field(default=10, ge=1, le=10)
    lockout_minutes: int = Field(default=15, ge=15, le=24 * 60)
    suspend_after_failures: int = Field(default=100, ge=1, le=100)
    address_throttle_failures: int = Field(default=100, ge=1, le=100)
    address_throttle_window_minutes: int = Field(default=15, ge=15, le=24 * 60)
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

    var_dir: Path = Field(default=Path("var"), description="Where local state lives.")
    totp_key_file: Path | None = Field(
        default=None,
        description=(
            "Key that encrypts TOTP secrets at rest; default <var_dir>/totp-secrets.key. "
            "Keep it away from the database and its backups."
        ),
    )

    @property
    def effective_totp_key_file(self) -> Path:
        return self.totp_key_file or self.var_dir / "totp-secrets.key"

    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
            "and X-Forwarded-Proto are believed; empty (the default): none are."
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


class ConfigurationRefused(ContactPointError):
    """Configuration that would weaken the security policy: the service does not start."""

    code = "configuration_refused"
    http_status = 500


def load_access_settings() -> AccessSettings:
    """Settings from the environment; a value outside the policy's bounds raises
    :class:`ConfigurationRefused` naming the variables (never their values)."""
    try:
        return AccessSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CONTACTPOINT_{'.'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationRefused(
            f"configuration outside the security policy, refusing to start: {problems}"
        ) from None
