"""Organisations' feed codes over HTTP: national administrators only, audited."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access.permissions import Role
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction


def login(app: FastAPI, account: Account, clock: FakeClock) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    assert client.post("/api/auth/login", json=account.login_body(clock())).status_code == 200
    return client


def test_national_admins_map_feed_codes_and_others_cannot(
    app: FastAPI, db: Engine, clock: FakeClock,
) -> None:
    with db.begin() as conn:
        s = make_service(conn, clock)
        council = make_org(s, la_code="LA1")
        admin = make_user(s, make_org(s, kind="other"), Role.NATIONAL_ADMIN)
        team = make_user(s, council, Role.COUNCIL_TEAM)
    path = f"/api/admin/orgs/{council}/feed-codes"
    client = login(app, admin, clock)
    made = client.post(path, json={"feed_code": "csc 201", "kind": "la"})
    assert made.status_code == 201, made.text
    assert made.json() == {"feed_code": "CSC 201", "kind": "la", "organisation": council}
    again = client.post(path, json={"feed_code": "CSC  201"})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert client.post(path, json={"feed_code": "a/b"}).status_code == 422
    assert client.post("/api/admin/orgs/nope/feed-codes", json={"feed_code": "X1"}
                       ).status_code == 404
    assert client.get(path).json() == [made.json()]
    assert login(app, team, clock).get(path).status_code == 403
    assert client.delete(f"{path}/X1").status_code == 404
    assert client.delete(f"{path}/csc 201").status_code == 204
    assert client.get(path).json() == []
    with db.connect() as conn:
        actions = [e.action for e in trail.for_subject(conn, f"org:{council}")]
    assert actions[-2:] == [AuditAction.ORG_CODE_ADD, AuditAction.ORG_CODE_REMOVE]
