"""Route sweep (anonymous, pending-2FA, unprivileged), security headers and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access import sessions
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.testing import FAST_SETTINGS, Account, FakeClock, make_org, make_service
from contactpoint.access.testing import make_user as _make_user
from contactpoint.app import PUBLIC_MOUNTS, PUBLIC_ROUTES
from contactpoint.web.routes import SIGN_IN_STEP_ROUTES

# The reviewed allow-list: change it only with docs/security/access.md.
EXPECTED_PUBLIC = {
    ("GET", "/health"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/enrol/start"),  # first sign-in of a new account (review finding 5)
    ("POST", "/api/auth/enrol/finish"),
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/smart-configuration"),
    ("GET", "/openapi.json"),
    ("GET", "/login"),  # the sign-in page
    ("POST", "/login"),  # its first step (password), CSRF-protected by a pre-session token
}
# Static files only (GOV.UK Frontend's built assets, our css/js): no route hides behind them.
EXPECTED_MOUNTS = {"/assets", "/static"}
# Reached with a pending session (password accepted, code not yet); anonymous callers are sent
# to /login like everywhere else.
EXPECTED_SIGN_IN_STEPS = {
    ("GET", "/login/code"), ("POST", "/login/code"),
    ("GET", "/login/enrol"), ("POST", "/login/enrol"),
}


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def all_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers too.

    A mounted sub-application (no methods) must be on the public-mount list: nothing else
    may hide behind a mount, where this sweep cannot see its routes.
    """
    found: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):
        assert route.path, route
        if route.methods is None:
            assert route.path in PUBLIC_MOUNTS, f"unreviewed mount {route.path}"
            continue
        for method in sorted(route.methods):
            if method != "HEAD":
                found.append((method, route.path))
    assert found
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "someone", path)


def call(client: TestClient, method: str, path: str) -> httpx.Response:
    body: dict[str, str] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, concrete(path), json=body, follow_redirects=False)


def assert_refused_anonymously(method: str, path: str, response: httpx.Response) -> None:
    """401 for machine-facing paths (problem+json on /api); a page may redirect to sign-in."""
    where = (method, path, response.status_code)
    if path.startswith(("/api/", "/oauth/", "/fhir")):
        assert response.status_code == 401, where
        if path.startswith("/api/"):
            assert response.headers["content-type"] == "application/problem+json", where
            assert response.json()["code"] == "authentication_failed", where
        return
    assert response.status_code == 303, where  # a page: to the sign-in page, nothing else
    assert response.headers["location"] == "/login", where
    assert not response.content, where


def test_public_routes_are_exactly_the_reviewed_list(app: FastAPI) -> None:
    assert PUBLIC_ROUTES == EXPECTED_PUBLIC
    assert PUBLIC_MOUNTS == EXPECTED_MOUNTS
    assert SIGN_IN_STEP_ROUTES == EXPECTED_SIGN_IN_STEPS
    assert set(all_routes(app)) >= EXPECTED_PUBLIC
    assert not {path for _, path in all_routes(app)} & {"/docs", "/redoc"}


def sweep_anonymous(app: FastAPI, client: TestClient) -> int:
    checked = 0
    for method, path in all_routes(app):
        if (method, path) in PUBLIC_ROUTES:
            continue
        assert_refused_anonymously(method, path, call(client, method, path))
        checked += 1
    return checked


def test_no_route_but_the_public_list_answers_an_anonymous_caller(
    app: FastAPI, client: TestClient
) -> None:
    assert sweep_anonymous(app, client) >= 10


def test_a_pending_two_factor_session_counts_as_anonymous(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        service = make_service(conn, clock)
        account = _make_user(service, make_org(service))
        user = service.user(account.username)
        pending = sessions.create(conn, user.id, authenticated=False, now=clock())
    with TestClient(app, base_url="https://testserver") as client:
        client.cookies.set(SESSION_COOKIE, pending, domain="testserver.local")
        for method, path in all_routes(app):
            if (method, path) in PUBLIC_ROUTES | SIGN_IN_STEP_ROUTES:
                continue
            assert_refused_anonymously(method, path, call(client, method, path))


def test_password_then_code_gives_a_new_session_id_each_step(
    db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        service = make_service(conn, clock)
        account = _make_user(service, make_org(service))
        user = service.user(account.username)
        pending = sessions.create(conn, user.id, authenticated=False, now=clock())
        loaded = sessions.load(conn, pending, now=clock(), settings=FAST_SETTINGS)
        assert loaded is not None
        assert not loaded.authenticated
        full = sessions.promote(conn, loaded, now=clock())
        assert full != pending
        assert sessions.load(conn, pending, now=clock(), settings=FAST_SETTINGS) is None
        promoted = sessions.load(conn, full, now=clock(), settings=FAST_SETTINGS)
        assert promoted is not None
        assert promoted.authenticated


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
    assert response.status_code == 200
    return client


def test_a_practitioner_reaches_no_admin_route(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        service = make_service(conn, clock)
        account = _make_user(service, make_org(service, la_code="LA9"))
    client = signed_in(app, account, clock)
    admin_routes = [(m, p) for m, p in all_routes(app) if p.startswith("/api/admin")]
    assert len(admin_routes) >= 8
    for method, path in admin_routes:
        response = call(client, method, path)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    pages = [(m, p) for m, p in all_routes(app) if p.startswith(("/users", "/audit"))]
    assert len(pages) >= 9
    for method, path in pages:
        response = call(client, method, path)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.headers["content-type"].startswith("text/html"), (method, path)


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def assert_secure_headers(headers: Mapping[str, str], where: str) -> None:
    h = {k.lower(): v for k, v in headers.items()}
    hsts = h.get("strict-transport-security", "")
    match = re.search(r"max-age=(\d+)", hsts)
    assert match, where
    assert int(match.group(1)) >= 31536000, where
    assert "includesubdomains" in hsts.lower(), where
    csp = h.get("content-security-policy", "")
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp, (where, directive)
    for name, value in SECURITY_HEADERS.items():
        assert h.get(name) == value, (where, name)
    assert h.get("cache-control") == "no-store", where
    assert h.get("x-request-id"), where


def test_security_headers_on_every_response(app: FastAPI, db: Engine, clock: FakeClock) -> None:
    with db.begin() as conn:
        service = make_service(conn, clock)
        account = _make_user(service, make_org(service))
    anonymous = TestClient(app, base_url="https://testserver")
    user = signed_in(app, account, clock)
    for client in (anonymous, user):
        for method, path in [*all_routes(app), ("GET", "/no/such/route")]:
            body: dict[str, str] | None = {} if method != "GET" else None
            response = client.request(method, concrete(path), json=body)
            assert_secure_headers(response.headers, f"{method} {path}")


def test_cross_site_cookie_requests_are_refused(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        service = make_service(conn, clock)
        account = _make_user(service, make_org(service))
    client = signed_in(app, account, clock)
    foreign = client.post("/api/auth/logout", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert foreign.headers["content-type"] == "application/problem+json"
    cross = client.post("/api/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    sibling = client.post("/api/auth/logout", headers={"Sec-Fetch-Site": "same-site"})
    assert sibling.status_code == 403
    assert client.get("/api/me").status_code == 200  # still signed in: nothing happened
    clock.next_totp_step()
    login_csrf = client.post(
        "/api/auth/login",
        json={"username": account.username, "password": account.password,
              "otp": account.code(clock())},
        headers={"Origin": "https://evil.example"},
    )
    assert login_csrf.status_code == 403
    null_cross = client.post("/api/auth/logout", headers={"Origin": "null"})
    assert null_cross.status_code == 403  # "null" without the browser saying same-origin
    null_cross = client.post(
        "/api/auth/logout", headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    )
    assert null_cross.status_code == 403
    ours = client.post(
        "/api/auth/logout",
        # what chromium sends on our own form posts (Referrer-Policy: no-referrer)
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert ours.status_code == 204
    assert client.get("/api/me").status_code == 401


def test_no_state_changing_get_routes(app: FastAPI) -> None:
    form_pages = {"/login", "/login/code", "/login/enrol"}  # GET shows the forms; POST acts
    for method, path in all_routes(app):
        if method == "GET" and path not in form_pages:
            assert not re.search(r"(login|logout|suspend|reset|create|accredit)", path), path


def test_health_and_openapi_say_nothing_about_data(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 404


def test_unexpected_errors_become_bare_problems_with_the_headers(app: FastAPI) -> None:
    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("message with personal data: Jane Doe 2015-03-02")

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = client.get("/test-only/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "Jane" not in response.text
    assert_secure_headers(response.headers, "500")


def test_the_sweep_catches_a_route_left_open(app: FastAPI) -> None:
    @app.get("/api/test-only/leak")
    def leak() -> dict[str, str]:
        return {"child": "data"}

    with (
        TestClient(app, base_url="https://testserver") as client,
        pytest.raises(AssertionError, match="leak"),
    ):
        sweep_anonymous(app, client)


def test_the_sweep_catches_a_page_left_open(app: FastAPI) -> None:
    @app.get("/test-only/page")
    def page() -> dict[str, str]:
        return {"child": "data"}

    with (
        TestClient(app, base_url="https://testserver") as client,
        pytest.raises(AssertionError, match="test-only/page"),
    ):
        sweep_anonymous(app, client)


# ---- every route as each role and as a machine client (security.md CI row 1-2) ----------

def _requirement(route: object) -> tuple[frozenset[str], bool]:
    """The permissions a route's ``Require`` dependencies ask for, and whether any needs a
    recent sign-in (read from the route itself, so a new route is swept automatically)."""
    from contactpoint.api.security import Require
    from contactpoint.web.guard import Page

    perms: set[str] = set()
    recent = False
    stack = list(getattr(route, "dependant").dependencies)  # noqa: B009
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Require | Page):
            perms |= set(dep.call.permissions)
            recent = recent or dep.call.recent_auth
        stack.extend(dep.dependencies)
    return frozenset(perms), recent


def _swept_routes(app: FastAPI) -> list[tuple[str, str, frozenset[str], bool]]:
    from fastapi.routing import APIRoute

    found = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        perms, recent = _requirement(route)
        for method in sorted(set(route.methods) - {"HEAD"}):
            if (method, route.path) in PUBLIC_ROUTES or route.path == "/api/auth/logout":
                continue  # public routes are swept above; sign-out would end the sweep
            found.append((method, route.path, perms, recent))
    return found


PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def _sweep(app: FastAPI, client: TestClient, held: frozenset[str], person: bool) -> int:
    checked = 0
    for method, path, needed, recent in _swept_routes(app):
        response = call(client, method, path)
        where = (method, path, response.status_code, response.text[:200])
        assert response.status_code < 500, where
        allowed = needed <= held and (person or not recent)
        html = response.headers.get("content-type", "").startswith("text/html")
        if html or response.status_code == 303:  # a page, answered the browser's way
            if not person:
                assert response.status_code == 303, where  # pages are for people only
                assert response.headers["location"] == "/login", where
            elif not allowed:
                assert response.status_code == 403, where
                assert "you do not have permission" in response.text.lower(), where
            else:  # allowed: a 403 can only be the form's missing CSRF token
                assert response.status_code in {200, 303, 403, 404, 422}, where
                if response.status_code == 403:
                    assert "you do not have permission" not in response.text.lower(), where
            checked += 1
            continue
        if not allowed:
            assert response.status_code == 403, where
            assert set(response.json()) == PROBLEM_KEYS, where  # a refusal carries no data
        else:
            assert response.status_code != 401, where
            if response.status_code == 403:  # in scope of the permission, not of the target
                assert response.json()["detail"] != "not permitted", where
        checked += 1
    return checked


@pytest.mark.parametrize("role", ["practitioner", "council_team", "national_admin", "auditor"])
def test_every_route_as_each_role(app: FastAPI, db: Engine, clock: FakeClock, role: str) -> None:
    from contactpoint.access.permissions import Role, permissions_for

    with db.begin() as conn:
        service = make_service(conn, clock)
        account = _make_user(service, make_org(service, la_code="LA7"), Role(role))
    client = signed_in(app, account, clock)
    held = frozenset(str(p) for p in permissions_for(Role(role)))
    assert _sweep(app, client, held, person=True) >= 10
    assert client.get("/api/me").status_code == 200  # the sweep changed nothing about us


def test_every_route_as_a_machine_client(app: FastAPI, db: Engine, clock: FakeClock) -> None:
    import json

    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    from contactpoint.access import clients

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    with db.begin() as conn:
        service = make_service(conn, clock)
        org = service.organisation(make_org(service, kind="health"))
        made = clients.create(conn, "Sweep client", org, {"keys": [jwk]}, now=clock())
        grant = clients.issue_token(conn, made, requested_scope=None, now=clock(),
                                    settings=FAST_SETTINGS)
    client = TestClient(app, base_url="https://testserver",
                        headers={"Authorization": f"Bearer {grant.access_token}"})
    held = frozenset(str(p) for p in made.permissions)
    assert _sweep(app, client, held, person=False) >= 10


# The reviewed list of JSON routes that need step-up (password and code within 5 minutes):
# change it only with docs/security/access.md. The pages' own step-up is web/guard's.
EXPECTED_API_STEP_UP = {
    ("POST", "/api/admin/users"),
    ("PATCH", "/api/admin/users/{username}"),
    ("POST", "/api/admin/users/{username}/unsuspend"),
    ("POST", "/api/admin/users/{username}/reset-2fa"),
    ("POST", "/api/children/{child_id}/shield"),
    ("POST", "/api/children/{child_id}/unshield"),
    ("POST", "/api/children/{child_id}/override"),  # the shield override (break-glass)
    ("POST", "/api/council/grants"),
    ("POST", "/api/council/grants/{grant_id}/revoke"),
    ("POST", "/api/review/children/{child_id}/unmerge"),  # split records out of a child
}


def test_step_up_routes_are_exactly_the_reviewed_list(app: FastAPI) -> None:
    swept = {(m, p): (perms, recent) for m, p, perms, recent in _swept_routes(app)}
    step_up = {route for route, (_, recent) in swept.items()
               if recent and route[1].startswith("/api/")}
    assert step_up == EXPECTED_API_STEP_UP
    # the override is a person's, with a view permission; the grant itself is the service's
    perms, _ = swept[("POST", "/api/children/{child_id}/override")]
    assert perms == {"record:child:view"}
