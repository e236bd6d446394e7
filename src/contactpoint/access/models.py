"""Plain values the access services hand out (never table rows, never API schemas)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from contactpoint.access.permissions import Permission, Role
from contactpoint.access.vetting import Standing


@dataclass(frozen=True)
class Organisation:
    id: int
    code: str
    name: str
    kind: str
    la_code: str | None
    accredited: bool


@dataclass(frozen=True)
class User:
    id: int
    username: str
    organisation: Organisation
    role: Role
    suspended: bool
    vetted_on: date | None
    trained_on: date | None
    agreement_signed_on: date | None
    locked_until: datetime | None
    created_at: datetime | None = None
    created_by: str | None = None  # the actor who created the account (audit form)
    must_enrol: bool = False  # first sign-in: new password and new second factor

    @property
    def standing(self) -> Standing:
        return Standing(
            suspended=self.suspended,
            organisation_accredited=self.organisation.accredited,
            vetted_on=self.vetted_on,
            trained_on=self.trained_on,
            agreement_signed_on=self.agreement_signed_on,
        )

    @property
    def actor(self) -> str:
        return f"user:{self.username}"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user (full session) or a machine client (bearer token)."""

    kind: Literal["user", "client"]
    id: int
    name: str
    organisation: Organisation
    role: Role | None
    permissions: frozenset[Permission]
    authenticated_at: datetime | None = None
    session_id_hash: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class AuditContext:
    """Who acts, for the audit entries an operation writes."""

    actor: str | None
    organisation: str | None
    request_id: str | None = None

    @classmethod
    def of(cls, principal: Principal, request_id: str | None) -> AuditContext:
        return cls(principal.actor, principal.organisation.code, request_id)
