"""Machine clients: SMART backend services token exchange and bearer use."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import Engine

from contactpoint.access import clients
from contactpoint.access.testing import (
    TEST_CONTEXT,
    FakeClock,
    make_org,
    make_service,
)
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction

TOKEN_URL = "https://testserver/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = kid
    return dict(jwk)


def register(
    db: Engine, clock: FakeClock, *keys: tuple[Any, str], accredited: bool = True
) -> tuple[str, str]:
    with db.begin() as conn:
        service = make_service(conn, clock)
        org = make_org(service, kind="health", accredited=accredited)
        made = clients.create(
            conn,
            "Case system",
            service.organisation(org),
            {"keys": [public_jwk(k, kid) for k, kid in keys]},
            now=clock(),
        )
        service.audit(TEST_CONTEXT, AuditAction.CLIENT_CREATE, subject=made.client_id)
    return made.client_id, org


def assertion(
    client_id: str,
    key: Any,
    clock: FakeClock,
    *,
    kid: str = "k1",
    alg: str = "RS384",
    lifetime: int = 240,
    jti: str | None = None,
    aud: str = TOKEN_URL,
    sub: str | None = None,
) -> str:
    claims = {
        "iss": client_id,
        "sub": sub or client_id,
        "aud": aud,
        "exp": int((clock() + timedelta(seconds=lifetime)).timestamp()),
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def exchange(client: TestClient, signed: str, **extra: str) -> Any:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **extra,
    }
    return client.post("/oauth/token", data=form)


def test_a_signed_assertion_gets_a_token_that_works_for_its_organisation(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    client_id, org = register(db, clock, (rsa_key, "k1"))
    response = exchange(client, assertion(client_id, rsa_key, clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] <= 300
    assert "record:child:search" in body["scope"].split()
    assert response.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    me = client.get("/api/me", headers=bearer)
    assert me.status_code == 200
    assert me.json()["kind"] == "client"
    assert me.json()["organisation"]["code"] == org
    assert client.get("/api/admin/users", headers=bearer).status_code == 403
    with db.connect() as conn:
        issued = trail.for_subject(conn, f"client:{client_id}")
    assert [e.action for e in issued] == [AuditAction.TOKEN_ISSUED]
    assert issued[0].organisation == org
    clock.advance(seconds=301)
    assert client.get("/api/me", headers=bearer).status_code == 401


def test_a_client_can_revoke_its_token_without_csrf_checks(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    token = exchange(client, assertion(client_id, rsa_key, clock)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    # bearer requests carry no ambient credentials: no CSRF check applies
    revoked = client.post("/api/auth/logout", headers={**bearer, "Sec-Fetch-Site": "cross-site"})
    assert revoked.status_code == 204
    assert client.get("/api/me", headers=bearer).status_code == 401


def test_clients_of_unaccredited_organisations_get_no_token(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    client_id, _ = register(db, clock, (rsa_key, "k1"), accredited=False)
    refused = exchange(client, assertion(client_id, rsa_key, clock))
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_es384_keys_work_too(
    client: TestClient, db: Engine, clock: FakeClock, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    client_id, _ = register(db, clock, (ec_key, "e1"))
    signed = assertion(client_id, ec_key, clock, kid="e1", alg="ES384")
    assert exchange(client, signed).status_code == 200


def test_a_requested_scope_narrows_the_token(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    narrow = exchange(client, assertion(client_id, rsa_key, clock), scope="self:profile:read")
    assert narrow.status_code == 200
    assert narrow.json()["scope"] == "self:profile:read"
    wide = exchange(client, assertion(client_id, rsa_key, clock), scope="admin:org:manage")
    assert wide.status_code == 400
    assert wide.json()["error"] == "invalid_scope"


def test_replayed_expired_long_lived_and_wrongly_signed_assertions_are_refused(
    client: TestClient,
    db: Engine,
    clock: FakeClock,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    once = assertion(client_id, rsa_key, clock)
    assert exchange(client, once).status_code == 200
    replay = exchange(client, once)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    expired = assertion(client_id, rsa_key, clock, lifetime=-5)
    assert exchange(client, expired).status_code == 401
    too_long = assertion(client_id, rsa_key, clock, lifetime=3600)
    assert exchange(client, too_long).status_code == 401
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert exchange(client, assertion(client_id, other_key, clock)).status_code == 401
    wrong_aud = assertion(client_id, rsa_key, clock, aud="https://elsewhere/oauth/token")
    assert exchange(client, wrong_aud).status_code == 401
    wrong_sub = assertion(client_id, rsa_key, clock, sub="someone-else")
    assert exchange(client, wrong_sub).status_code == 401
    hs = jwt.encode(
        {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "jti": "x",
         "exp": int((clock() + timedelta(seconds=60)).timestamp())},
        "a shared secret that is long enough for HS384 use!",
        algorithm="HS384",
        headers={"kid": "k1"},
    )
    assert exchange(client, hs).status_code == 401
    unknown = assertion(str(uuid.uuid4()), rsa_key, clock)
    assert exchange(client, unknown).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer made-up"}).status_code == 401
    with db.connect() as conn:
        events = trail.for_subject(conn, f"client:{client_id}")
    refused = [e for e in events if e.action == AuditAction.SIGN_IN_FAILED]
    # replay, expired, too long, wrong key, aud, sub, HS384: seven refusals from one address
    # for one client, audited as one counted entry per window (review finding 9)
    assert len(refused) == 1
    assert {e.details["error"] for e in refused} == {"invalid_client"}


def test_token_endpoint_checks_grant_and_assertion_type(client: TestClient) -> None:
    bad_grant = client.post("/oauth/token", data={"grant_type": "password"})
    assert bad_grant.status_code == 400
    assert bad_grant.json()["error"] == "unsupported_grant_type"
    assert bad_grant.headers["content-type"] == "application/problem+json"
    no_assertion = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert no_assertion.status_code == 400
    assert no_assertion.json()["error"] == "invalid_request"


def test_smart_configuration_advertises_the_token_endpoint(client: TestClient) -> None:
    config = client.get("/.well-known/smart-configuration").json()
    assert config["token_endpoint"] == TOKEN_URL
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}


def test_jwks_with_private_parts_or_weak_keys_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    from contactpoint.errors import ValidationFailed

    private = json.loads(RSAAlgorithm.to_jwk(rsa_key))
    with pytest.raises(ValidationFailed, match="public keys only"):
        clients.validate_jwks({"keys": [private]})
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValidationFailed, match="2048"):
        clients.validate_jwks({"keys": [json.loads(RSAAlgorithm.to_jwk(weak.public_key()))]})
    with pytest.raises(ValidationFailed):
        clients.validate_jwks({"keys": []})


@pytest.mark.parametrize("exp", [1e20, 10**20, -1e20, 1e308])
def test_an_out_of_range_exp_is_an_invalid_assertion_and_audited(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey, exp: float
) -> None:
    """Review finding 10: a validly signed assertion with ``exp = 1e20`` gave a 500."""
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": exp,
              "jti": str(uuid.uuid4())}
    signed = jwt.encode(claims, rsa_key, algorithm="RS384", headers={"kid": "k1"})
    answer = exchange(client, signed)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_client"
    with db.connect() as conn:
        events = trail.for_subject(conn, f"client:{client_id}")
    refused = [e for e in events if e.action == AuditAction.SIGN_IN_FAILED]
    assert refused
    assert refused[-1].details["why"] == "client_assertion_refused"


def test_machine_client_routes_are_off_without_a_configured_public_origin(
    db: Engine, module_db_url: str, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Review finding 2: the audience and the advertised token URL came from ``Host``."""
    from contactpoint.access.testing import FAST_SETTINGS
    from contactpoint.app import create_app
    from contactpoint.settings import Settings

    unset = create_app(Settings(database_url=module_db_url),
                       access_settings=FAST_SETTINGS.model_copy(update={"public_origin": ""}),
                       engine=db, clock=clock)
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    evil = "http://evil.example/oauth/token"
    with TestClient(unset, base_url="http://evil.example") as c:
        config = c.get("/.well-known/smart-configuration")
        assert config.status_code == 503
        assert "evil.example" not in config.text
        answer = exchange(c, assertion(client_id, rsa_key, clock, aud=evil))
        assert answer.status_code == 503
        assert answer.json()["code"] == "not_configured"


def test_a_configured_origin_ignores_the_host_header(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    evil = {"Host": "evil.example"}
    config = client.get("/.well-known/smart-configuration", headers=evil)
    assert config.json()["token_endpoint"] == TOKEN_URL
    signed = assertion(client_id, rsa_key, clock, aud="https://evil.example/oauth/token")
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed}
    assert client.post("/oauth/token", data=form, headers=evil).status_code == 401


@pytest.mark.parametrize(
    "origin", ["evil.example", "http://evil.example", "https://x.example/path", "ftp://x.example"]
)
def test_a_public_origin_must_be_an_https_origin(origin: str) -> None:
    from pydantic import ValidationError

    from contactpoint.access.config import AccessSettings

    with pytest.raises(ValidationError):
        AccessSettings(public_origin=origin)


def test_refused_token_requests_are_throttled_and_audited_once_per_window(
    client: TestClient, db: Engine, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Review finding 9: every refused ``/oauth/token`` call appended an audit entry."""
    client_id, _ = register(db, clock, (rsa_key, "k1"))
    bad = assertion(client_id, rsa_key, clock, aud="https://elsewhere.example/oauth/token")
    statuses = [exchange(client, bad).status_code for _ in range(25)]
    assert statuses == [401] * 20 + [429] * 5
    assert exchange(client, bad).json()["error"] == "slow_down"
    good = assertion(client_id, rsa_key, clock)
    assert exchange(client, good).status_code == 429  # throttled, even when right
    with db.connect() as conn:
        refused = [e for e in trail.for_subject(conn, f"client:{client_id}")
                   if e.action == AuditAction.SIGN_IN_FAILED]
    assert len(refused) == 1
    clock.advance(minutes=16)
    assert exchange(client, assertion(client_id, rsa_key, clock)).status_code == 200
    assert exchange(client, bad).status_code == 401
    with db.connect() as conn:
        refused = [e for e in trail.for_subject(conn, f"client:{client_id}")
                   if e.action == AuditAction.SIGN_IN_FAILED]
    assert len(refused) == 2
    assert refused[-1].details["previous_window_refusals"] == 27
