"""A browser-like TestClient session on the pages: the CSRF token of a page, and sign-in by
the two steps (password, then code), as the page tests need it."""

from __future__ import annotations

import re

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from contactpoint.access.testing import Account, FakeClock

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf_of(page: httpx.Response) -> str:
    return token(page.text)


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def password_step(client: TestClient, account: Account,
                  password: str | None = None) -> httpx.Response:
    page = client.get("/login")
    assert page.status_code == 200
    return client.post(
        "/login",
        data={
            "csrf_token": token(page.text),
            "username": account.username,
            "password": account.password if password is None else password,
        },
    )


def sign_in(app: FastAPI, account: Account, clock: FakeClock) -> TestClient:
    client = browser(app)
    first = password_step(client, account)
    assert first.status_code == 303
    assert first.headers["location"] == "/login/code"
    page = client.get("/login/code")
    done = client.post(
        "/login/code", data={"csrf_token": token(page.text), "code": account.code(clock())}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/"
    clock.next_totp_step()
    return client
