"""Roles, permissions, who may manage whom, vetting and TOTP steps: pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest

from contactpoint.access import totp
from contactpoint.access.admin import user_scope_refusal
from contactpoint.access.models import Organisation, Principal
from contactpoint.access.permissions import (
    CLIENT_GRANTABLE,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    format_permissions,
    parse_permissions,
    permissions_for,
)
from contactpoint.access.vetting import Standing, refusals, vetting_expires_on


def test_permission_names_follow_scope_resource_action() -> None:
    for permission in Permission:
        assert len(permission.value.split(":")) == 3, permission


def test_every_role_has_a_permission_set_and_only_admins_administer() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert Permission.ADMIN_USER_MANAGE not in permissions_for(Role.PRACTITIONER)
    assert Permission.ADMIN_ORG_MANAGE in permissions_for(Role.NATIONAL_ADMIN)
    assert Permission.ADMIN_ORG_MANAGE not in permissions_for(Role.COUNCIL_TEAM)
    assert Permission.AUDIT_TRAIL_READ in permissions_for(Role.AUDITOR)
    assert permissions_for(Role.AUDITOR) & {
        Permission.RECORD_CHILD_SEARCH, Permission.RECORD_CHILD_VIEW
    } == set()
    assert not any(p.value.startswith("admin:") for p in CLIENT_GRANTABLE)


def test_permissions_round_trip_as_scope_text() -> None:
    perms = permissions_for(Role.COUNCIL_TEAM)
    assert parse_permissions(format_permissions(perms)) == perms
    with pytest.raises(ValueError, match="root:everything:do"):
        parse_permissions("record:child:search root:everything:do")


def org(code: str, la: str | None) -> Organisation:
    return Organisation(id=hash(code) % 1000, code=code, name=code, kind="council",
                        la_code=la, accredited=True)


def principal(role: Role, organisation: Organisation, pid: int = 1) -> Principal:
    return Principal("user", pid, "actor", organisation, role, permissions_for(role))


def test_council_team_manages_its_area_only_and_grantable_roles_only() -> None:
    team = principal(Role.COUNCIL_TEAM, org("LA1", "A"))
    school_a, school_b = org("S1", "A"), org("S2", "B")
    assert user_scope_refusal(team, school_a, {Role.PRACTITIONER}, 7) is None
    assert "council area" in str(user_scope_refusal(team, school_b, {Role.PRACTITIONER}, 7))
    assert "role" in str(user_scope_refusal(team, school_a, {Role.NATIONAL_ADMIN}, 7))
    assert "own" in str(user_scope_refusal(team, school_a, {Role.PRACTITIONER}, 1))
    no_area = principal(Role.COUNCIL_TEAM, org("LA0", None))
    assert user_scope_refusal(no_area, org("S0", None), {Role.PRACTITIONER}, 7) is not None


def test_national_admin_manages_everyone_but_themself() -> None:
    admin = principal(Role.NATIONAL_ADMIN, org("NAT", None))
    assert user_scope_refusal(admin, org("S2", "B"), {Role.AUDITOR}, 9) is None
    assert user_scope_refusal(admin, org("NAT", None), {Role.NATIONAL_ADMIN}, 1) is not None
    practitioner = principal(Role.PRACTITIONER, org("S1", "A"))
    assert user_scope_refusal(practitioner, org("S1", "A"), {Role.PRACTITIONER}, 9) is not None


TODAY = date(2026, 11, 25)


def standing(**changes: object) -> Standing:
    base: dict[str, object] = {
        "suspended": False,
        "organisation_accredited": True,
        "vetted_on": date(2025, 1, 1),
        "trained_on": date(2025, 1, 2),
        "agreement_signed_on": date(2025, 1, 3),
    }
    base.update(changes)
    return Standing(**base)  # type: ignore[arg-type]


def test_cleared_user_has_no_refusals() -> None:
    assert refusals(standing(), TODAY) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"suspended": True}, "suspended"),
        ({"organisation_accredited": False}, "not accredited"),
        ({"vetted_on": None}, "no DBS"),
        ({"vetted_on": date(2023, 11, 24)}, "older than three years"),
        ({"vetted_on": date(2027, 1, 1)}, "future"),
        ({"trained_on": None}, "training"),
        ({"agreement_signed_on": None}, "agreement"),
    ],
)
def test_each_missing_clearance_is_named(changes: dict[str, object], reason: str) -> None:
    found = refusals(standing(**changes), TODAY)
    assert len(found) == 1
    assert reason in found[0]


def test_vetting_is_good_for_exactly_three_years() -> None:
    assert refusals(standing(vetted_on=date(2023, 11, 25)), TODAY) == []
    assert vetting_expires_on(date(2024, 2, 29)) == date(2027, 2, 28)


def test_totp_accepts_one_step_either_side_and_nothing_further() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 11, 25, 9, 0, 10, tzinfo=UTC)
    step = totp.time_step(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(secret, now + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, now) == step + offset
    for offset in (-2, 2):
        code = totp.code_at(secret, now + timedelta(seconds=30 * offset))
        found = totp.matching_step(secret, code, now)
        assert found is None or found != step + offset
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None
    assert totp.code_at(secret, now) == pyotp.TOTP(secret).at(now)
