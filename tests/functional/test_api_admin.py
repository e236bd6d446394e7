"""User and organisation administration: who may manage whom, step-up, audit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access.permissions import Role
from contactpoint.access.testing import (
    Account,
    FakeClock,
    make_org,
    make_service,
    make_user,
    unique,
)
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction

PASSWORD = "a perfectly reasonable passphrase"


@dataclass
class World:
    area_a: str
    area_b: str
    council_a: str
    school_a: str
    council_b: str
    admin: Account
    team_a: Account
    team_b: Account
    teacher_a: Account
    teacher_b: Account


@pytest.fixture
def world(db: Engine, clock: FakeClock) -> World:
    with db.begin() as conn:
        s = make_service(conn, clock)
        area_a, area_b = unique("A"), unique("B")
        national = make_org(s, kind="other")
        council_a = make_org(s, la_code=area_a)
        school_a = make_org(s, kind="school", la_code=area_a)
        council_b = make_org(s, la_code=area_b)
        return World(
            area_a=area_a,
            area_b=area_b,
            council_a=council_a,
            school_a=school_a,
            council_b=council_b,
            admin=make_user(s, national, Role.NATIONAL_ADMIN),
            team_a=make_user(s, council_a, Role.COUNCIL_TEAM),
            team_b=make_user(s, council_b, Role.COUNCIL_TEAM),
            teacher_a=make_user(s, school_a),
            teacher_b=make_user(s, council_b),
        )


def signed_in(app: FastAPI, account: Account, clock: FakeClock) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    response = client.post(
        "/api/auth/login",
        json={
            "username": account.username,
            "password": account.password,
            "otp": account.code(clock()),
        },
    )
    assert response.status_code == 200, response.text
    return client


def audit_actions(db: Engine, subject: str) -> list[str]:
    with db.connect() as conn:
        return [e.action for e in trail.for_subject(conn, subject)]


def test_council_team_sees_and_manages_only_its_own_area(
    app: FastAPI, world: World, clock: FakeClock, db: Engine
) -> None:
    team = signed_in(app, world.team_a, clock)
    listed = {u["username"] for u in team.get("/api/admin/users").json()}
    assert {world.team_a.username, world.teacher_a.username} <= listed
    assert not listed & {world.team_b.username, world.teacher_b.username, world.admin.username}

    other = team.post(f"/api/admin/users/{world.teacher_b.username}/suspend")
    missing = team.post("/api/admin/users/no-such-user-at-all/suspend")
    assert other.status_code == missing.status_code == 403
    assert team.get(f"/api/admin/users/{world.teacher_b.username}").status_code == 403

    own_area = team.post(f"/api/admin/users/{world.teacher_a.username}/suspend")
    assert own_area.status_code == 200
    assert own_area.json()["suspended"] is True
    events = list(audit_actions(db, f"user:{world.teacher_a.username}"))
    assert AuditAction.USER_SUSPEND in events


def test_council_team_creates_users_only_in_its_area_and_only_grantable_roles(
    app: FastAPI, world: World, clock: FakeClock, db: Engine
) -> None:
    team = signed_in(app, world.team_a, clock)

    def create(org: str, role: str) -> int:
        name = unique("new")
        body = {"username": name, "password": PASSWORD, "organisation": org, "role": role}
        return team.post("/api/admin/users", json=body).status_code

    assert create(world.council_b, "practitioner") == 403
    assert create(world.school_a, "national_admin") == 403
    assert create(world.school_a, "auditor") == 403
    assert create("NO-SUCH-ORG", "practitioner") == 403
    name = unique("made")
    made = team.post(
        "/api/admin/users",
        json={
            "username": name,
            "password": PASSWORD,
            "organisation": world.school_a,
            "role": "practitioner",
            "vetted_on": "2026-01-01",
        },
    )
    assert made.status_code == 201
    assert len(made.json()["totp_secret"]) == 32
    assert made.json()["totp_uri"].startswith("otpauth://totp/")
    assert AuditAction.USER_CREATE in audit_actions(db, f"user:{name}")


def test_nobody_changes_their_own_privileges(
    app: FastAPI, world: World, clock: FakeClock
) -> None:
    for account in (world.team_a, world.admin):
        client = signed_in(app, account, clock)
        me = account.username
        own = f"/api/admin/users/{me}"
        assert client.patch(own, json={"role": "national_admin"}).status_code == 403
        assert client.post(f"{own}/suspend").status_code == 403
        assert client.post(f"{own}/reset-2fa").status_code == 403
        assert client.patch(own, json={"vetted_on": "2026-11-01"}).status_code == 403


def test_council_team_cannot_promote_anyone_beyond_its_own_grant(
    app: FastAPI, world: World, clock: FakeClock
) -> None:
    team = signed_in(app, world.team_a, clock)
    promote = team.patch(
        f"/api/admin/users/{world.teacher_a.username}", json={"role": "national_admin"}
    )
    assert promote.status_code == 403
    ok = team.patch(f"/api/admin/users/{world.teacher_a.username}", json={"role": "council_team"})
    assert ok.status_code == 200
    assert ok.json()["role"] == "council_team"


def test_only_national_admin_manages_organisations(
    app: FastAPI, world: World, clock: FakeClock, db: Engine
) -> None:
    team = signed_in(app, world.team_a, clock)
    body = {"code": unique("ORG"), "name": "New School", "kind": "school", "la_code": world.area_a}
    assert team.post("/api/admin/orgs", json=body).status_code == 403
    assert team.get("/api/admin/orgs").status_code == 403
    admin = signed_in(app, world.admin, clock)
    created = admin.post("/api/admin/orgs", json=body)
    assert created.status_code == 201
    assert created.json()["accredited"] is False
    accredited = admin.post(
        f"/api/admin/orgs/{body['code']}/accreditation", json={"accredited": True}
    )
    assert accredited.status_code == 200
    assert accredited.json()["accredited"] is True
    actions = audit_actions(db, f"org:{body['code']}")
    assert actions == [AuditAction.ORG_CREATE, AuditAction.ORG_UPDATE]
    dup = admin.post("/api/admin/orgs", json=body)
    assert dup.status_code == 409


def test_national_admin_manages_any_area_and_grants_roles(
    app: FastAPI, world: World, clock: FakeClock, db: Engine
) -> None:
    admin = signed_in(app, world.admin, clock)
    changed = admin.patch(f"/api/admin/users/{world.teacher_b.username}", json={"role": "auditor"})
    assert changed.status_code == 200
    assert changed.json()["role"] == "auditor"
    reset = admin.post(f"/api/admin/users/{world.teacher_b.username}/reset-2fa")
    assert reset.status_code == 200
    assert reset.json()["totp_secret"] != world.teacher_b.totp_secret
    actions = audit_actions(db, f"user:{world.teacher_b.username}")
    assert {AuditAction.ROLE_GRANT, AuditAction.USER_UPDATE, AuditAction.MFA_RESET} <= set(actions)
    assert admin.get("/api/admin/users/no-such-user-anywhere").status_code == 404


def test_sensitive_admin_actions_need_a_recent_sign_in(
    app: FastAPI, world: World, clock: FakeClock
) -> None:
    admin = signed_in(app, world.admin, clock)
    clock.advance(minutes=6)
    stale = admin.post(f"/api/admin/users/{world.teacher_a.username}/reset-2fa")
    assert stale.status_code == 401
    assert stale.json()["code"] == "reauthentication_required"
    assert admin.get("/api/me").status_code == 200  # still signed in
    reauth = admin.post(
        "/api/auth/reauth",
        json={"password": world.admin.password, "otp": world.admin.code(clock())},
    )
    assert reauth.status_code == 200
    assert admin.post(f"/api/admin/users/{world.teacher_a.username}/reset-2fa").status_code == 200


def test_suspension_ends_the_users_sessions(
    app: FastAPI, world: World, clock: FakeClock
) -> None:
    teacher = signed_in(app, world.teacher_a, clock)
    assert teacher.get("/api/me").status_code == 200
    team = signed_in(app, world.team_a, clock)
    assert team.post(f"/api/admin/users/{world.teacher_a.username}/suspend").status_code == 200
    assert teacher.get("/api/me").status_code == 401


def test_weak_passwords_are_refused_with_the_reason(
    app: FastAPI, world: World, clock: FakeClock
) -> None:
    admin = signed_in(app, world.admin, clock)
    name = unique("weak")
    for password, reason in [
        ("short one", "at least 15"),
        ("passwordpassword", "commonly used"),
        ("my contactpoint account", "name of the service"),
        (f"{name} is my password", "username"),
    ]:
        response = admin.post(
            "/api/admin/users",
            json={
                "username": name,
                "password": password,
                "organisation": world.council_a,
                "role": "practitioner",
            },
        )
        assert response.status_code == 422, password
        assert reason in response.json()["detail"]
        assert password not in response.text or reason == "username"
