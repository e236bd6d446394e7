"""First sign-in of an account someone else made (review finding 5), on the HTML pages.

The handed-over password and code lead to /login/enrol (an *enrolling* session, signed in to
nothing); there a new password and a code from a NEW secret replace both factors and sign the
person in. The browser journey (chromium, axe) is in tests/browser/test_enrolment.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from contactpoint.access import totp
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.permissions import Role
from contactpoint.access.tables import app_user
from contactpoint.access.testing import (
    TEST_CONTEXT,
    Account,
    FakeClock,
    make_org,
    make_service,
    make_user,
    unique,
)
from contactpoint.audit.tables import audit_event

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
FAILED = "The username, password or code is not right"
NEW_PASSWORD = "my own long pass phrase 5172"


def token(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def secret_on(html: str) -> str:
    match = SECRET.search(html)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def handed_over(db: Engine, clock: FakeClock) -> Account:
    """An account made by a council team: ``must_enrol``, as every non-CLI account is."""
    with db.begin() as conn:
        service = make_service(conn, clock)
        org = make_org(service, la_code="LA3")
        today = clock().date()
        made = service.create_user(
            unique("handed"),
            "the handed over pass phrase 2231",
            organisation_code=org,
            role=Role.PRACTITIONER,
            vetted_on=today - timedelta(days=3),
            trained_on=today - timedelta(days=2),
            agreement_signed_on=today - timedelta(days=1),
            ctx=TEST_CONTEXT,
        )
    assert made.user.must_enrol
    return Account(made.user.username, "the handed over pass phrase 2231", made.totp_secret, org,
                   Role.PRACTITIONER)


def to_enrolment(app: FastAPI, account: Account, clock: FakeClock) -> tuple[TestClient, str]:
    """Password, then the handed-over code: returns the browser and its enrolling cookie."""
    client = browser(app)
    page = client.get("/login")
    first = client.post("/login", data={"csrf_token": token(page.text),
                                        "username": account.username,
                                        "password": account.password})
    assert first.headers["location"] == "/login/code"
    pending = first.cookies[SESSION_COOKIE]
    code_page = client.get("/login/code")
    assert "Enter your security code" in code_page.text
    assert 'id="totp-secret"' not in code_page.text  # the creator handed the key over
    assert 'class="segno"' not in code_page.text
    done = client.post("/login/code", data={"csrf_token": token(code_page.text),
                                            "code": account.code(clock())})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/login/enrol"
    enrolling = done.cookies[SESSION_COOKIE]
    assert enrolling != pending  # a new id once both factors are accepted
    clock.next_totp_step()
    return client, enrolling


def test_the_handed_over_factors_lead_to_enrolment_then_a_signed_in_start_page(
    app: FastAPI, db: Engine, clock: FakeClock, handed_over: Account
) -> None:
    client, _ = to_enrolment(app, handed_over, clock)
    # The enrolling session signs nobody in, and the code step sends it on to enrolment.
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/users").headers["location"] == "/login"
    assert client.get("/login/code").headers["location"] == "/login/enrol"
    page = client.get("/login/enrol")
    assert page.status_code == 200
    assert "<title>Choose a new password and set up your authenticator app – Contactpoint" \
        in page.text
    assert 'class="segno"' in page.text  # the QR code, inline SVG
    new_secret = secret_on(page.text)
    assert new_secret != handed_over.totp_secret
    with db.begin() as conn:
        stored = conn.execute(
            select(app_user.c.pending_totp_secret)
            .where(app_user.c.username == handed_over.username)
        ).scalar_one()
    assert new_secret not in stored  # kept sealed at rest
    form = {"csrf_token": token(page.text), "password": handed_over.password,
            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
            "code": totp.code_at(new_secret, clock())}

    empty = client.post("/login/enrol", data={"csrf_token": token(page.text)})
    assert empty.status_code == 422
    for message in ("Enter the password you were given", "Enter a new password",
                    "Enter the 6-digit security code from your app"):
        assert message in empty.text
    assert 'class="govuk-error-summary"' in empty.text
    assert secret_on(empty.text) == new_secret  # the same new secret, shown again

    mismatch = client.post("/login/enrol", data={**form, "confirm_password": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422
    assert "Enter the same new password twice" in mismatch.text

    weak = client.post("/login/enrol", data={**form, "new_password": "short",
                                             "confirm_password": "short"})
    assert weak.status_code == 422
    assert "Password must be at least" in weak.text  # enrolment.finish's rule, not a copy

    same = client.post("/login/enrol", data={**form, "new_password": handed_over.password,
                                             "confirm_password": handed_over.password})
    assert same.status_code == 422
    assert "must differ from the one you were given" in same.text

    # Any wrong factor: the one answer, and the same page to try again.
    wrong_password = client.post("/login/enrol", data={**form, "password": "not the one given 1"})
    old_code = client.post("/login/enrol", data={**form, "code": handed_over.code(clock())})
    for wrong in (wrong_password, old_code):
        assert wrong.status_code == 401
        assert FAILED in wrong.text
        assert 'class="govuk-error-summary"' in wrong.text
        assert secret_on(wrong.text) == new_secret

    no_token = client.post("/login/enrol", data={k: v for k, v in form.items()
                                                 if k != "csrf_token"})
    assert no_token.status_code == 403

    done = client.post("/login/enrol", data=form)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/"
    start = client.get("/")
    assert start.status_code == 200
    assert handed_over.username in start.text
    with db.begin() as conn:
        row = conn.execute(
            select(app_user.c.must_enrol, app_user.c.pending_totp_secret)
            .where(app_user.c.username == handed_over.username)
        ).one()
        actions = conn.execute(
            select(audit_event.c.action)
            .where(audit_event.c.subject == f"user:{handed_over.username}")
        ).scalars().all()
    assert not row.must_enrol
    assert row.pending_totp_secret is None
    assert "auth:account:enrol" in actions
    clock.next_totp_step()

    # From now on: the new factors sign in directly; the handed-over password does not.
    again = browser(app)
    page = again.get("/login")
    again.post("/login", data={"csrf_token": token(page.text),
                               "username": handed_over.username, "password": NEW_PASSWORD})
    code_page = again.get("/login/code")
    assert "Enter your security code" in code_page.text  # no secret shown: the code was used
    signed = again.post("/login/code", data={"csrf_token": token(code_page.text),
                                             "code": totp.code_at(new_secret, clock())})
    assert signed.headers["location"] == "/"
    clock.next_totp_step()
    old = browser(app)
    page = old.get("/login")
    old.post("/login", data={"csrf_token": token(page.text), "username": handed_over.username,
                             "password": handed_over.password})
    code_page = old.get("/login/code")
    refused = old.post("/login/code", data={"csrf_token": token(code_page.text),
                                            "code": totp.code_at(new_secret, clock())})
    assert refused.status_code == 401
    assert FAILED in refused.text


def test_a_password_alone_never_reaches_the_new_secret(
    app: FastAPI, clock: FakeClock, handed_over: Account
) -> None:
    """Someone holding only the handed-over password, while the owner is enrolling, gets a
    pending session: the enrolment page sends it back to the code step, never showing (or
    accepting a code from) the new secret."""
    owner, _ = to_enrolment(app, handed_over, clock)
    new_secret = secret_on(owner.get("/login/enrol").text)
    intruder = browser(app)
    page = intruder.get("/login")
    intruder.post("/login", data={"csrf_token": token(page.text),
                                  "username": handed_over.username,
                                  "password": handed_over.password})
    shown = intruder.get("/login/enrol")
    assert shown.status_code == 303
    assert shown.headers["location"] == "/login/code"
    code_page = intruder.get("/login/code")
    assert new_secret not in code_page.text.replace(" ", "")
    posted = intruder.post(
        "/login/enrol",
        data={"csrf_token": token(code_page.text), "password": handed_over.password,
              "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
              "code": totp.code_at(new_secret, clock())},
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/login/code"
    assert intruder.get("/").headers["location"] == "/login"
    # The owner's enrolment is untouched and still completes.
    page = owner.get("/login/enrol")
    done = owner.post("/login/enrol", data={
        "csrf_token": token(page.text), "password": handed_over.password,
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        "code": totp.code_at(new_secret, clock())})
    assert done.headers["location"] == "/"


def test_an_account_that_need_not_enrol_signs_in_as_before(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    """CLI and demo accounts (``must_enrol=False``) never see the enrolment page, and their
    first sign-in still shows their (sealed at rest) secret as a QR code."""
    with db.begin() as conn:
        service = make_service(conn, clock)
        account = make_user(service, make_org(service))
    client = browser(app)
    page = client.get("/login")
    client.post("/login", data={"csrf_token": token(page.text), "username": account.username,
                                "password": account.password})
    code_page = client.get("/login/code")
    assert code_page.status_code == 200
    assert secret_on(code_page.text) == account.totp_secret
    assert client.get("/login/enrol").headers["location"] == "/login/code"
    done = client.post("/login/code", data={"csrf_token": token(code_page.text),
                                            "code": account.code(clock())})
    assert done.headers["location"] == "/"
