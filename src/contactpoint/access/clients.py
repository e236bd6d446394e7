"""Machine clients: SMART Backend Services (client credentials + private_key_jwt).

A case-management system is registered with its public JWKS. It signs a short-lived JWT
assertion (RS384 or ES384; iss = sub = client_id; aud = our token URL; exp at most five
minutes ahead; a jti never seen before) and exchanges it at ``POST /oauth/token`` for an
opaque bearer token, valid for minutes, limited to its organisation and permissions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from contactpoint.access.config import AccessSettings
from contactpoint.access.models import Organisation, Principal
from contactpoint.access.permissions import (
    CLIENT_DEFAULT,
    CLIENT_GRANTABLE,
    Permission,
    format_permissions,
    parse_permissions,
)
from contactpoint.access.tables import access_token, client_assertion_jti, machine_client
from contactpoint.errors import ContactPointError, ValidationFailed

ALGORITHMS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRANT_TYPE = "client_credentials"


class OAuthError(ContactPointError):
    """An RFC 6749 token-endpoint error (``error`` is the RFC's code)."""

    code = "oauth_error"
    http_status = 400

    def __init__(self, error: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error = error
        self.http_status = status


def invalid_client(message: str) -> OAuthError:
    return OAuthError("invalid_client", message, 401)


@dataclass(frozen=True)
class Client:
    id: int
    client_id: str
    name: str
    organisation_id: int
    jwks: dict[str, Any]
    permissions: frozenset[Permission]
    suspended: bool


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: str
    client: Client


def validate_jwks(jwks: Any) -> dict[str, Any]:
    """A public key set we accept: RSA (≥ 2048 bits) or P-384 keys, no private parts."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValidationFailed("JWKS must be an object with a non-empty 'keys' list")
    for key in jwks["keys"]:
        if not isinstance(key, dict):
            raise ValidationFailed("JWKS keys must be objects")
        if any(part in key for part in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ValidationFailed("JWKS must hold public keys only")
        kty = key.get("kty")
        if kty == "EC" and key.get("crv") != "P-384":
            raise ValidationFailed("EC keys must be on curve P-384 (ES384)")
        if kty not in ("RSA", "EC"):
            raise ValidationFailed("JWKS keys must be RSA or EC")
        try:
            parsed = jwt.PyJWK(key, algorithm="RS384" if kty == "RSA" else "ES384")
        except jwt.PyJWTError as exc:
            raise ValidationFailed("JWKS key cannot be read") from exc
        size = getattr(parsed.key, "key_size", 0)
        if kty == "RSA" and size < 2048:
            raise ValidationFailed("RSA keys must be at least 2048 bits")
    return jwks


def _client(row: Any) -> Client:
    jwks = row.jwks if isinstance(row.jwks, dict) else json.loads(row.jwks)
    return Client(
        id=int(row.id),
        client_id=row.client_id,
        name=row.name,
        organisation_id=int(row.organisation_id),
        jwks=jwks,
        permissions=parse_permissions(row.permissions),
        suspended=bool(row.suspended),
    )


def create(
    conn: Connection,
    name: str,
    org: Organisation,
    jwks: Any,
    *,
    now: datetime,
    permissions: frozenset[Permission] = CLIENT_DEFAULT,
) -> Client:
    if not name.strip() or len(name) > 200:
        raise ValidationFailed("client name: 1–200 characters")
    if not permissions <= CLIENT_GRANTABLE:
        raise ValidationFailed("a machine client may hold only: " + format_permissions(
            CLIENT_GRANTABLE))
    checked = validate_jwks(jwks)
    client_id = str(uuid.uuid4())
    conn.execute(
        insert(machine_client).values(
            client_id=client_id,
            name=name.strip(),
            organisation_id=org.id,
            jwks=checked,
            permissions=format_permissions(permissions),
            suspended=False,
            created_at=now,
        )
    )
    found = find(conn, client_id)
    assert found is not None
    return found


def find(conn: Connection, client_id: str) -> Client | None:
    row = conn.execute(
        select(machine_client).where(machine_client.c.client_id == client_id)
    ).first()
    return _client(row) if row is not None else None


def claimed_client(conn: Connection, assertion: str) -> Client | None:
    """The registered client an (unverified) assertion claims to come from, if any."""
    try:
        iss = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return find(conn, iss) if isinstance(iss, str) and len(iss) <= 64 else None


def _signing_key(client: Client, header: dict[str, Any]) -> jwt.PyJWK:
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise invalid_client("assertion must be signed with RS384 or ES384")
    kid = header.get("kid")
    candidates = [k for k in client.jwks["keys"] if kid is None or k.get("kid") == kid]
    if len(candidates) != 1:
        raise invalid_client("no single registered key matches the assertion's kid")
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg)
    except jwt.PyJWTError as exc:
        raise invalid_client("registered key cannot verify this assertion") from exc


def _instant(value: Any, claim: str) -> datetime:
    """A NumericDate claim as a time; refused (never a 500) when it is not a number or lies
    outside what a datetime can hold (``exp = 1e20``: review finding 10)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_client(f"assertion {claim} must be a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise invalid_client(f"assertion {claim} is out of range") from None


def verify_assertion(
    conn: Connection,
    assertion: str,
    *,
    token_url: str,
    now: datetime,
    settings: AccessSettings,
) -> Client:
    """Check the client's signed assertion and record its jti; returns the client."""
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise invalid_client("client assertion is not a readable JWT") from exc
    client_id = unverified.get("iss")
    client = find(conn, client_id) if isinstance(client_id, str) else None
    if client is None or client.suspended:
        raise invalid_client("unknown or suspended client")
    key = _signing_key(client, header)
    try:
        claims = jwt.decode(
            assertion,
            key=key,
            algorithms=list(ALGORITHMS),
            audience=token_url,
            issuer=client.client_id,
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                "verify_exp": False,  # checked below against the injectable clock
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise invalid_client("client assertion refused: " + type(exc).__name__) from exc
    if claims.get("sub") != client.client_id:
        raise invalid_client("assertion sub must equal iss (the client_id)")
    expires = _instant(claims["exp"], "exp")
    if expires <= now:
        raise invalid_client("client assertion has expired")
    if expires - now > timedelta(seconds=settings.assertion_max_lifetime_seconds):
        raise invalid_client("client assertion lives too long (exp at most 5 minutes ahead)")
    nbf = claims.get("nbf")
    if nbf is not None and _instant(nbf, "nbf") > now + timedelta(seconds=30):
        raise invalid_client("client assertion is not valid yet")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= 255:
        raise invalid_client("assertion jti must be a string of 1–255 characters")
    conn.execute(delete(client_assertion_jti).where(client_assertion_jti.c.expires_at < now))
    seen = conn.execute(
        select(client_assertion_jti.c.jti)
        .where(client_assertion_jti.c.client_id == client.client_id)
        .where(client_assertion_jti.c.jti == jti)
    ).first()
    if seen is not None:
        raise invalid_client("client assertion jti was used before")
    try:
        conn.execute(
            insert(client_assertion_jti).values(
                client_id=client.client_id, jti=jti, expires_at=expires
            )
        )
    except IntegrityError as exc:  # the same assertion raced in twice: give up this one
        raise invalid_client("client assertion jti was used before") from exc
    return client


def issue_token(
    conn: Connection,
    client: Client,
    *,
    requested_scope: str | None,
    now: datetime,
    settings: AccessSettings,
) -> TokenGrant:
    granted = client.permissions
    if requested_scope:
        try:
            wanted = parse_permissions(requested_scope)
        except ValueError as exc:
            raise OAuthError("invalid_scope", "unknown scope requested") from exc
        if not wanted <= client.permissions:
            raise OAuthError("invalid_scope", "scope exceeds what the client was granted")
        granted = wanted
    token = secrets.token_urlsafe(32)
    lifetime = settings.access_token_seconds
    conn.execute(delete(access_token).where(access_token.c.expires_at < now))
    conn.execute(
        insert(access_token).values(
            token_hash=_hash(token),
            client_pk=client.id,
            permissions=format_permissions(granted),
            issued_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return TokenGrant(token, lifetime, format_permissions(granted), client)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def principal_for_token(
    conn: Connection, token: str, *, now: datetime, organisation: Any
) -> Principal | None:
    """The client principal behind a live bearer token, or None.

    ``organisation`` is a callable ``org_id -> Organisation`` (the access service's look-up).
    """
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        select(
            access_token.c.permissions,
            access_token.c.expires_at,
            machine_client.c.id,
            machine_client.c.client_id,
            machine_client.c.organisation_id,
            machine_client.c.suspended,
        )
        .select_from(access_token.join(machine_client))
        .where(access_token.c.token_hash == _hash(token))
    ).first()
    if row is None or row.expires_at <= now or row.suspended:
        return None
    org: Organisation = organisation(int(row.organisation_id))
    if not org.accredited:
        return None
    return Principal(
        kind="client",
        id=int(row.id),
        name=row.client_id,
        organisation=org,
        role=None,
        permissions=parse_permissions(row.permissions),
    )


def revoke(conn: Connection, token: str) -> None:
    """End a bearer token before its time (the client "signs out")."""
    conn.execute(delete(access_token).where(access_token.c.token_hash == _hash(token)))
