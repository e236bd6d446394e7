"""Logs carry ids, routes, statuses and timings, never personal data or secrets."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.permissions import Role
from contactpoint.access.testing import FAST_SETTINGS, FakeClock, make_org, make_service, make_user
from contactpoint.api.logs import JsonFormatter
from contactpoint.app import create_app
from contactpoint.settings import Settings


def test_a_sign_in_journey_logs_no_personal_data(
    db: Engine, module_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    app: FastAPI = create_app(
        Settings(database_url=module_db_url), access_settings=FAST_SETTINGS, engine=db, clock=clock
    )
    with db.begin() as conn:
        service = make_service(conn, clock)
        admin = make_user(service, make_org(service), Role.NATIONAL_ADMIN,
                          username="canary.admin.janedoe")
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [admin.username, admin.password, admin.totp_secret]
    with TestClient(app, base_url="https://testserver") as client:
        wrong = client.post(
            "/api/auth/login",
            json={"username": admin.username, "password": "Wrong Canary Password", "otp": "000000"},
        )
        assert wrong.status_code == 401
        secrets.append("Wrong Canary Password")
        code = admin.code(clock())
        secrets.append(code)
        ok = client.post(
            "/api/auth/login",
            json={"username": admin.username, "password": admin.password, "otp": code},
        )
        assert ok.status_code == 200
        secrets.append(client.cookies[SESSION_COOKIE])
        made = client.post(
            "/api/admin/users",
            json={
                "username": "canary.new.johnsmith",
                "password": "Canary New Users Passphrase",
                "organisation": admin.organisation,
                "role": "practitioner",
            },
        )
        assert made.status_code == 201
        secrets += ["canary.new.johnsmith", "Canary New Users Passphrase"]
        secrets.append(made.json()["totp_secret"])
        assert client.get("/health?name=Jane+Doe&dob=2015-03-02").status_code == 200
        secrets += ["Jane", "2015-03-02"]
        client.post(
            "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        )

    formatter = JsonFormatter()
    # the test's own HTTP client logs its URLs; the server's records are what count
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    lines = [formatter.format(record) for record in server]
    text = "\n".join(lines) + "\n".join(r.getMessage() for r in server)
    for secret in secrets:
        assert secret not in text, secret
    access = [json.loads(line) for line in lines if '"event":"request"' in line]
    assert len(access) >= 5
    routes = {entry["route"] for entry in access}
    assert {"/api/auth/login", "/api/admin/users", "/health"} <= routes
    assert all(entry["request_id"] and entry["status"] for entry in access)
