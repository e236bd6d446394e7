"""Helpers for tests (ours and other packages'): a settable clock and ready-made accounts.

Nothing here is used by the running service.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, update

from contactpoint.access import totp
from contactpoint.access.config import AccessSettings
from contactpoint.access.models import AuditContext
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.permissions import Role
from contactpoint.access.service import AccessService
from contactpoint.access.tables import app_user

# Cheap hashes for tests only: ``model_construct`` skips the policy floors that stop any
# such configuration from the environment (review finding 13).
FAST_SETTINGS = AccessSettings.model_construct(
    argon2_time_cost=1,
    argon2_memory_kib=8,
    argon2_parallelism=1,
    public_origin="https://testserver",
    var_dir=Path(tempfile.gettempdir()) / f"contactpoint-tests-{os.getuid()}",
)
TEST_CONTEXT = AuditContext("test:setup", None, None)


class FakeClock:
    """A clock that stands still until moved; starts mid-step of a TOTP period."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 9, 0, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def next_totp_step(self) -> None:
        """Move to the middle of the next 30-second step (so a new code is valid)."""
        self.now += timedelta(seconds=totp.PERIOD_SECONDS)


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    totp_secret: str
    organisation: str
    role: Role

    def code(self, at: datetime) -> str:
        return totp.code_at(self.totp_secret, at)

    def login_body(self, at: datetime) -> dict[str, str]:
        """JSON for ``POST /api/auth/login`` at time ``at`` (use a new TOTP step each time)."""
        return {"username": self.username, "password": self.password, "otp": self.code(at)}


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def make_service(
    conn: Connection, clock: FakeClock, settings: AccessSettings = FAST_SETTINGS
) -> AccessService:
    return AccessService(conn, settings, PasswordHashing(settings.hash_parameters), clock)


def make_org(
    service: AccessService,
    *,
    code: str | None = None,
    kind: str = "council",
    la_code: str | None = None,
    accredited: bool = True,
) -> str:
    code = code or unique("org")
    service.create_organisation(
        code, f"Organisation {code}", kind, accredited=accredited, la_code=la_code,
        ctx=TEST_CONTEXT,
    )
    return code


def make_user(
    service: AccessService,
    organisation: str,
    role: Role = Role.PRACTITIONER,
    *,
    username: str | None = None,
    vetted_on: date | None = None,
    trained: bool = True,
    agreement: bool = True,
) -> Account:
    name = username or unique("user")
    password = f"long enough pass phrase {secrets.token_hex(6)}"
    today = service.clock().date()
    made = service.create_user(
        name,
        password,
        organisation_code=organisation,
        role=role,
        vetted_on=vetted_on or today - timedelta(days=30),
        trained_on=today - timedelta(days=20) if trained else None,
        agreement_signed_on=today - timedelta(days=10) if agreement else None,
        ctx=TEST_CONTEXT,
        must_enrol=False,  # as if its owner had already enrolled
    )
    # An established account (older than the 24-hour wait on privilege changes).
    service.conn.execute(
        update(app_user)
        .where(app_user.c.id == made.user.id)
        .values(created_at=service.clock() - timedelta(days=2))
    )
    return Account(name, password, made.totp_secret, organisation, role)
