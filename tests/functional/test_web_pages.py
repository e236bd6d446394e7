"""The HTML pages without a browser: sign-in steps, CSRF, step-up, scope, audit pages.

The browser journeys (real chromium, axe) are in tests/browser/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.permissions import Role
from contactpoint.access.testing import (
    FAST_SETTINGS,
    Account,
    FakeClock,
    make_org,
    make_service,
    make_user,
)
from contactpoint.api.logs import JsonFormatter
from contactpoint.api.middleware import SECURITY_HEADERS
from contactpoint.app import create_app
from contactpoint.audit import trail
from contactpoint.settings import Settings
from contactpoint.web import assets
from web_session import browser, csrf_of, password_step, sign_in, token

FAILED = "The username, password or code is not right"


@pytest.fixture
def council(db: Engine, clock: FakeClock) -> tuple[Account, str]:
    with db.begin() as conn:
        service = make_service(conn, clock)
        org = make_org(service, la_code="LA1")
        account = make_user(service, org, Role.COUNCIL_TEAM)
    return account, org


def test_two_steps_with_enrolment_then_the_start_page(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        account = make_user(make_service(conn, clock), make_org(make_service(conn, clock)))
    client = browser(app)
    first = password_step(client, account)
    pending = first.cookies[SESSION_COOKIE]
    enrol = client.get("/login/code")
    assert "Set up your authenticator app" in enrol.text
    empty = client.post("/login/code", data={"csrf_token": token(enrol.text), "code": " "})
    assert empty.status_code == 422
    assert "Enter the 6-digit security code" in empty.text
    assert 'class="segno"' in empty.text  # still the enrolment page
    assert 'class="segno"' in enrol.text  # the QR code
    secret = " ".join(account.totp_secret[i : i + 4] for i in range(0, 32, 4))
    assert secret in enrol.text
    assert "<title>Set up your authenticator app – Contactpoint – GOV.UK</title>" in enrol.text
    done = client.post(
        "/login/code", data={"csrf_token": token(enrol.text), "code": account.code(clock())}
    )
    assert done.status_code == 303
    assert done.cookies[SESSION_COOKIE] != pending  # a new id once the code is accepted
    start = client.get("/")
    assert start.status_code == 200
    assert account.username in start.text
    assert "Find a child" in start.text
    clock.next_totp_step()
    # enrolled now: the next sign-in never shows the secret again
    again = browser(app)
    password_step(again, account)
    code_page = again.get("/login/code")
    assert "Enter your security code" in code_page.text
    assert account.totp_secret[:8] not in code_page.text
    assert 'class="segno"' not in code_page.text


def test_a_wrong_password_and_a_wrong_code_get_the_same_answer(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        account = make_user(make_service(conn, clock), make_org(make_service(conn, clock)))
    wrong_password = browser(app)
    step = password_step(wrong_password, account, password="not the password at all")
    assert step.status_code == 303  # not told yet: on to the code step
    assert step.headers["location"] == "/login/code"
    page = wrong_password.get("/login/code")
    assert page.status_code == 200
    assert "Enter your security code" in page.text  # as for an enrolled user
    answer_1 = wrong_password.post(
        "/login/code", data={"csrf_token": token(page.text), "code": account.code(clock())}
    )
    clock.next_totp_step()
    wrong_code = browser(app)
    password_step(wrong_code, account)
    page = wrong_code.get("/login/code")
    answer_2 = wrong_code.post(
        "/login/code", data={"csrf_token": token(page.text), "code": "000000"}
    )
    assert answer_1.status_code == answer_2.status_code == 401
    # the error page's form works: the next attempt is not refused for its token
    clock.next_totp_step()
    retry = wrong_code.post(
        "/login",
        data={"csrf_token": token(answer_2.text), "username": account.username,
              "password": account.password},
    )
    assert retry.status_code == 303
    assert retry.headers["location"] == "/login/code"
    for answer in (answer_1, answer_2):
        assert FAILED in answer.text
        assert "govuk-error-summary" in answer.text
        assert "<title>Error: Sign in – Contactpoint – GOV.UK</title>" in answer.text
    with db.connect() as conn:
        whys = [
            e.details.get("why")
            for e in trail.recent(conn, last=10)
            if e.action == trail.AuditAction.SIGN_IN_FAILED
        ]
    assert {"bad_password", "bad_code"} <= set(whys)


def test_forms_without_the_session_token_are_refused(
    app: FastAPI, db: Engine, clock: FakeClock, council: tuple[Account, str]
) -> None:
    account, _ = council
    anonymous = browser(app)
    no_token = anonymous.post(
        "/login", data={"username": account.username, "password": account.password}
    )
    assert no_token.status_code == 403
    assert SESSION_COOKIE not in no_token.cookies
    client = sign_in(app, account, clock)
    other = sign_in(app, account, clock)
    foreign = token(other.get("/").text)  # a real token, of another session
    mine = token(client.get("/").text)
    assert foreign != mine
    for data in ({}, {"csrf_token": foreign}, {"csrf_token": "x" * 64}):
        refused = client.post("/logout", data=data)
        assert refused.status_code == 403, data
        assert "text/html" in refused.headers["content-type"]
    assert client.get("/").status_code == 200  # still signed in: nothing happened
    out = client.post("/logout", data={"csrf_token": mine})
    assert out.status_code == 303
    assert out.headers["location"] == "/login?signed_out=true"
    assert client.get("/").status_code == 303  # the old cookie signs nobody in


def test_step_up_before_adding_a_user_then_back_to_the_form(
    app: FastAPI, db: Engine, clock: FakeClock, council: tuple[Account, str]
) -> None:
    account, org = council
    client = sign_in(app, account, clock)
    assert client.get("/users/new").status_code == 200  # just signed in: recent enough
    clock.advance(minutes=6)
    stale = client.get("/users/new")
    assert stale.status_code == 303
    assert stale.headers["location"] == "/reauth?next=/users/new"
    posted = client.post("/users", data={"csrf_token": token(client.get("/").text)})
    assert posted.headers["location"] == "/reauth?next=/users/new"
    page = client.get(stale.headers["location"])
    wrong = client.post(
        "/reauth",
        data={"csrf_token": token(page.text), "password": "wrong password here",
              "code": account.code(clock()), "next": "/users/new"},
    )
    assert wrong.status_code == 401
    assert FAILED in wrong.text
    clock.next_totp_step()
    evil = client.post(
        "/reauth",
        data={"csrf_token": token(page.text), "password": account.password,
              "code": account.code(clock()), "next": "//evil.example/x"},
    )
    assert evil.status_code == 303
    assert evil.headers["location"] == "/"  # never off-site
    clock.next_totp_step()
    form = client.get("/users/new")
    assert form.status_code == 200
    created = client.post(
        "/users",
        data={"csrf_token": token(form.text), "username": "new.practitioner",
              "password": "a long enough pass phrase 4821", "organisation": org,
              "role": "practitioner", "vetted_on-day": "1", "vetted_on-month": "11",
              "vetted_on-year": "2026"},
    )
    assert created.status_code == 200, created.text
    assert "User added" in created.text
    handed = re.search(r'id="handover-secret">([A-Z2-7 ]+)<', created.text)
    assert handed, "the authenticator key to hand over is shown once"
    assert 'class="segno"' in created.text
    again = client.get("/users/new.practitioner")
    assert handed.group(1) not in again.text  # never shown again
    shown = client.get("/users/new.practitioner")
    assert "1 November 2026" in shown.text
    assert "Cannot sign in" in shown.text  # no training or agreement yet


def test_council_pages_stay_in_the_area(
    app: FastAPI, db: Engine, clock: FakeClock, council: tuple[Account, str]
) -> None:
    account, org = council
    with db.begin() as conn:
        service = make_service(conn, clock)
        mine = make_user(service, org)
        elsewhere = make_user(service, make_org(service, la_code="LA2"))
    client = sign_in(app, account, clock)
    listing = client.get("/users")
    assert mine.username in listing.text
    assert elsewhere.username not in listing.text
    outside = client.get(f"/users/{elsewhere.username}")
    missing = client.get("/users/nobody.at.all")
    assert outside.status_code == missing.status_code == 403
    csrf = token(listing.text)
    assert client.post(f"/users/{elsewhere.username}/suspend",
                       data={"csrf_token": csrf}).status_code == 403
    done = client.post(f"/users/{mine.username}/suspend", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert "Suspended" in client.get(f"/users/{mine.username}").text
    with db.connect() as conn:
        last = [e for e in trail.recent(conn, last=5) if e.action == "admin:user:suspend"]
    assert last
    assert last[-1].actor == f"user:{account.username}"


def test_auditor_searches_the_trail_and_sees_the_chain_status(
    app: FastAPI, db: Engine, clock: FakeClock, council: tuple[Account, str]
) -> None:
    council_account, _ = council
    with db.begin() as conn:
        service = make_service(conn, clock)
        auditor = make_user(service, make_org(service), Role.AUDITOR)
    sign_in(app, council_account, clock)
    client = sign_in(app, auditor, clock)
    page = client.get("/audit")
    assert "<title>Search the audit trail – Contactpoint – GOV.UK</title>" in page.text
    empty = client.post("/audit", data={"csrf_token": token(page.text)})
    assert empty.status_code == 422
    assert "Enter a child id, a username, an organisation or a date" in empty.text
    bad_child = client.post("/audit", data={"csrf_token": token(page.text),
                                            "child_id": "123456789012"})
    assert bad_child.status_code == 422
    assert "Child id" in bad_child.text
    found = client.post("/audit", data={"csrf_token": token(page.text),
                                        "username": council_account.username})
    assert found.status_code == 200
    assert "auth:session:sign_in" in found.text
    assert f"user:{council_account.username}" in found.text
    with db.connect() as conn:
        reads = [e for e in trail.recent(conn, last=3) if e.action == "audit:event:read"]
    assert reads
    assert reads[-1].details["criteria"] == {"username": council_account.username}
    day = {"from-day": "25", "from-month": "11", "from-year": "2026"}
    late = client.post("/audit", data={"csrf_token": csrf_of(page), "username":
                                       council_account.username, **day, "from_time": "23:59"})
    assert "No entries match" in late.text
    on_time = client.post("/audit", data={"csrf_token": csrf_of(page), "username":
                                          council_account.username, **day, "from_time": "9:00"})
    assert "auth:session:sign_in" in on_time.text
    bad = client.post("/audit", data={"csrf_token": csrf_of(page), **day, "from_time": "25:00"})
    assert bad.status_code == 422
    assert "The start time must be a time like 9:30 or 14:15" in bad.text
    dateless = client.post("/audit", data={"csrf_token": csrf_of(page), "to_time": "10:00",
                                           "username": council_account.username})
    assert dateless.status_code == 422
    assert "Enter a date for the end time" in dateless.text
    status = client.get("/audit/verify")
    assert status.status_code == 200
    assert "The audit trail is intact" in status.text


def test_the_csp_allows_exactly_the_template_inline_script(app: FastAPI) -> None:
    page = browser(app).get("/login")
    scripts = re.findall(r"<script(?: [^>]*)?>(.*?)</script>", page.text, flags=re.S)
    inline = [s for s in scripts if s.strip()]
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in SECURITY_HEADERS["Content-Security-Policy"]


def test_pages_still_render_without_built_assets(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets, "govuk_built", lambda: False)
    page = browser(app).get("/login")
    assert page.status_code == 200
    assert "make assets" in page.text
    assert "govuk-frontend.min.css" not in page.text


def test_page_journeys_log_no_personal_data(
    app: FastAPI, db: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with db.begin() as conn:
        service = make_service(conn, clock)
        org = make_org(service, la_code="LA5")
        council = make_user(service, org, Role.COUNCIL_TEAM, username="canary.council.janedoe")
        auditor = make_user(service, org, Role.AUDITOR, username="canary.auditor.johnsmith")
    caplog.set_level(logging.DEBUG)
    secrets = [council.username, council.password, council.totp_secret, auditor.username,
               auditor.password, "000000471003"]
    client = sign_in(app, council, clock)
    secrets.append(client.cookies[SESSION_COOKIE])
    client.get(f"/users/{council.username}")
    client.post(
        "/users",
        data={"csrf_token": token(client.get("/").text), "username": "canary.new.person",
              "password": "Canary Passphrase X1"},
    )
    secrets += ["canary.new.person", "Canary Passphrase X1"]
    watcher = sign_in(app, auditor, clock)
    csrf = token(watcher.get("/audit").text)
    watcher.post("/audit", data={"csrf_token": csrf, "child_id": "000000471003"})
    watcher.post("/audit", data={"csrf_token": csrf, "username": council.username})
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in server]
    text = "\n".join(lines) + "\n".join(r.getMessage() for r in server)
    for secret in secrets:
        assert secret not in text, secret
    routes = {json.loads(line)["route"] for line in lines if '"event":"request"' in line}
    assert {"/login", "/login/code", "/users/{username}", "/audit"} <= routes


def test_the_app_starts_without_built_assets(
    db: Engine, module_db_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(assets, "GOVUK_DIR", tmp_path / "not-built")
    app = create_app(
        Settings(database_url=module_db_url), access_settings=FAST_SETTINGS, engine=db, clock=clock
    )
    assert any("assets are missing" in r.getMessage() for r in caplog.records)
    client = browser(app)
    page = client.get("/login")
    assert page.status_code == 200
    assert "make assets" in page.text
    assert client.get("/assets/govuk-frontend.min.css").status_code == 404
    assert client.get("/static/contactpoint.js").status_code == 200


def test_council_changes_a_role_and_resets_an_authenticator_app(
    app: FastAPI, db: Engine, clock: FakeClock, council: tuple[Account, str]
) -> None:
    account, org = council
    with db.begin() as conn:
        worker = make_user(make_service(conn, clock), org)
    worker_client = sign_in(app, worker, clock)  # enrolled now
    client = sign_in(app, account, clock)
    page = client.get(f"/users/{worker.username}/role")
    assert page.status_code == 200
    assert "National administrator" not in page.text  # not a role a council team grants
    csrf = token(page.text)
    refused = client.post(f"/users/{worker.username}/role",
                          data={"csrf_token": csrf, "role": "national_admin"})
    assert refused.status_code == 422
    granted = client.post(f"/users/{worker.username}/role",
                          data={"csrf_token": csrf, "role": "council_team"})
    assert granted.status_code == 303
    assert worker_client.get("/").status_code == 303  # a role change signs them out
    reset = client.post(f"/users/{worker.username}/reset-2fa", data={"csrf_token": csrf})
    assert reset.headers["location"] == f"/users/{worker.username}?reset=true"
    with db.connect() as conn:
        actions = [e.action for e in trail.recent(conn, last=6)]
    assert {"admin:user:role_grant", "admin:user:mfa_reset"} <= set(actions)
    again = browser(app)
    password_step(again, worker)
    assert "Set up your authenticator app" in again.get("/login/code").text  # enrols again
