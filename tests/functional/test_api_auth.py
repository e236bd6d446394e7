"""Sign-in, lockout, throttle, sessions and cookies through the JSON API (both databases)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.permissions import Role
from contactpoint.access.service import AccessService
from contactpoint.access.testing import (
    FAST_SETTINGS,
    TEST_CONTEXT,
    Account,
    FakeClock,
    make_org,
    make_service,
    make_user,
)
from contactpoint.app import create_app
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.settings import Settings

T = TypeVar("T")


@pytest.fixture
def app(db: Engine, module_db_url: str, clock: FakeClock) -> FastAPI:
    return create_app(
        Settings(database_url=module_db_url),
        access_settings=FAST_SETTINGS.model_copy(update={"address_throttle_failures": 25}),
        engine=db,
        clock=clock,
    )


def new_client(app: FastAPI) -> TestClient:
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    return TestClient(app, base_url="https://testserver", client=(address, 50000))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with new_client(app) as c:
        yield c


def setup(db: Engine, clock: FakeClock, fn: Callable[[AccessService], T]) -> T:
    with db.begin() as conn:
        return fn(make_service(conn, clock))


@pytest.fixture
def account(db: Engine, clock: FakeClock) -> Account:
    return setup(db, clock, lambda s: make_user(s, make_org(s, la_code="LA1")))


def login(client: TestClient, account: Account, clock: FakeClock, **override: str) -> Any:
    body = {
        "username": account.username,
        "password": account.password,
        "otp": account.code(clock()),
    }
    body.update(override)
    return client.post("/api/auth/login", json=body)


def wrong_code(account: Account, clock: FakeClock) -> str:
    right = account.code(clock())
    return f"{(int(right) + 1) % 1_000_000:06d}"


def test_sign_in_sets_a_host_only_secure_session_cookie(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    response = login(client, account, clock)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    lowered = cookie.lower()
    for flag in ("secure", "httponly", "samesite=strict", "path=/"):
        assert flag in lowered
    assert "domain=" not in lowered
    assert "max-age" not in lowered
    assert "expires" not in lowered
    me = client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["name"] == account.username
    assert me.json()["role"] == "practitioner"


def test_wrong_password_wrong_code_and_unknown_user_look_the_same(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    bad_password = login(client, account, clock, password=account.password + "x")
    bad_code = login(client, account, clock, otp=wrong_code(account, clock))
    unknown = login(client, account, clock, username="nobody-" + account.username)
    assert bad_password.status_code == bad_code.status_code == unknown.status_code == 401
    assert bad_password.content == bad_code.content == unknown.content
    assert bad_password.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in bad_password.headers


def test_ten_failures_lock_the_account_and_success_resets_the_count(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    for _ in range(9):
        assert login(client, account, clock, password="wrong password entirely").status_code == 401
    clock.next_totp_step()
    assert login(client, account, clock).status_code == 200  # success resets the count
    for _ in range(9):
        assert login(client, account, clock, otp=wrong_code(account, clock)).status_code == 401
    assert login(client, account, clock, password="wrong again, tenth").status_code == 401
    clock.next_totp_step()
    locked = login(client, account, clock)  # the 11th, correct, is refused
    assert locked.status_code == 423
    assert locked.headers["content-type"] == "application/problem+json"
    clock.advance(minutes=14)
    assert login(client, account, clock).status_code == 423
    clock.advance(minutes=1, seconds=5)
    assert login(client, account, clock).status_code == 200
    with client.app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        actions = [e.action for e in trail.for_subject(conn, f"user:{account.username}")]
    assert actions.count(AuditAction.ACCOUNT_LOCKED) == 1
    assert actions.count(AuditAction.SIGN_IN) == 2
    assert actions.count(AuditAction.SIGN_IN_FAILED) == 9 + 10 + 2


def test_many_failures_from_one_address_are_throttled(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    accounts = setup(db, clock, lambda s: [make_user(s, make_org(s)) for _ in range(3)])
    with new_client(app) as client:
        statuses = [
            login(client, accounts[i % 3], clock, password="not the password at all").status_code
            for i in range(25)
        ]
        assert set(statuses) == {401}
        throttled = login(client, accounts[0], clock)
        assert throttled.status_code == 429
    with new_client(app) as other_address:
        assert login(other_address, accounts[0], clock).status_code == 200


def test_a_used_code_cannot_be_used_again(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    assert login(client, account, clock).status_code == 200
    assert login(client, account, clock).status_code == 401
    clock.next_totp_step()
    assert login(client, account, clock).status_code == 200


@pytest.mark.parametrize(
    "standing",
    ["expired_vetting", "no_training", "no_agreement", "suspended", "unaccredited"],
)
def test_users_not_cleared_are_refused_after_correct_credentials(
    client: TestClient, db: Engine, clock: FakeClock, standing: str
) -> None:
    def make(s: AccessService) -> Account:
        org = make_org(s, accredited=standing != "unaccredited")
        today = clock().date()
        vetted = today - timedelta(days=3 * 365 + 2) if standing == "expired_vetting" else None
        acc = make_user(
            s,
            org,
            vetted_on=vetted,
            trained=standing != "no_training",
            agreement=standing != "no_agreement",
        )
        if standing == "suspended":
            s.set_suspended(s.user(acc.username), True, ctx=TEST_CONTEXT)
        return acc

    acc = setup(db, clock, make)
    response = login(client, acc, clock)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert client.get("/api/me").status_code == 401


def test_vetting_just_under_three_years_is_accepted(
    client: TestClient, db: Engine, clock: FakeClock
) -> None:
    today = clock().date()
    acc = setup(
        db,
        clock,
        lambda s: make_user(s, make_org(s), vetted_on=today.replace(year=today.year - 3)),
    )
    assert login(client, acc, clock).status_code == 200


def test_idle_session_expires_after_30_minutes(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    assert login(client, account, clock).status_code == 200
    clock.advance(minutes=29)
    assert client.get("/api/me").status_code == 200  # activity keeps it alive
    clock.advance(minutes=30)
    assert client.get("/api/me").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/api/me").status_code == 401


def test_session_ends_after_12_hours_however_active(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    assert login(client, account, clock).status_code == 200
    for _ in range(12 * 3):
        clock.advance(minutes=20)
        assert client.get("/api/me").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/api/me").status_code == 401


def test_logout_kills_the_old_cookie_and_sign_in_issues_a_new_id(
    app: FastAPI, account: Account, clock: FakeClock
) -> None:
    with new_client(app) as client:
        client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="testserver.local")
        assert login(client, account, clock).status_code == 200
        first = client.cookies.get(SESSION_COOKIE)
        assert first
        assert first != "planted-by-an-attacker"
        clock.next_totp_step()
        assert login(client, account, clock).status_code == 200
        second = client.cookies.get(SESSION_COOKIE)
        assert second
        assert second != first
        assert client.post("/api/auth/logout").status_code == 204
    for token in (first, second):
        with new_client(app) as replay:
            replay.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
            assert replay.get("/api/me").status_code == 401


def test_every_sign_in_attempt_is_audited(
    client: TestClient, account: Account, clock: FakeClock, db: Engine
) -> None:
    login(client, account, clock, password="definitely the wrong one")
    login(client, account, clock)
    with db.connect() as conn:
        events = trail.for_subject(conn, f"user:{account.username}")
    actions = [e.action for e in events]
    assert actions[-2:] == [AuditAction.SIGN_IN_FAILED, AuditAction.SIGN_IN]
    assert events[-2].details["why"] == "bad_password"
    assert all(e.request_id for e in events[-2:])


def test_step_up_renews_authentication_and_session_id(
    client: TestClient, account: Account, clock: FakeClock
) -> None:
    assert login(client, account, clock).status_code == 200
    before = client.cookies.get(SESSION_COOKIE)
    clock.next_totp_step()
    bad = client.post("/api/auth/reauth", json={"password": "nope nope nope nope", "otp": "1"})
    assert bad.status_code == 401
    good = client.post(
        "/api/auth/reauth", json={"password": account.password, "otp": account.code(clock())}
    )
    assert good.status_code == 200
    assert client.cookies.get(SESSION_COOKIE) != before
    assert client.get("/api/me").status_code == 200


def test_roles_are_reported_by_me(app: FastAPI, db: Engine, clock: FakeClock) -> None:
    acc = setup(db, clock, lambda s: make_user(s, make_org(s), Role.AUDITOR))
    with new_client(app) as client:
        assert login(client, acc, clock).status_code == 200
        body = client.get("/api/me").json()
    assert body["role"] == "auditor"
    assert "audit:trail:read" in body["permissions"]
    assert "record:child:search" not in body["permissions"]
