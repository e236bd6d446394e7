"""SMART Backend Services: ``POST /oauth/token`` and ``/.well-known/smart-configuration``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from contactpoint.access import clients
from contactpoint.access.clients import ASSERTION_TYPE, GRANT_TYPE, OAuthError
from contactpoint.access.models import AuditContext
from contactpoint.access.permissions import CLIENT_GRANTABLE
from contactpoint.api.runtime import client_address, request_id, runtime
from contactpoint.audit.trail import AuditAction
from contactpoint.errors import ContactPointError, NotConfigured

public_router = APIRouter(tags=["oauth"])


def token_url(request: Request) -> str:
    """Our token URL, from configuration only: never from the request's Host header, which
    the caller chooses (review finding 2). Without it, machine-client routes are off."""
    origin = runtime(request).access.public_origin.rstrip("/")
    if not origin:
        raise NotConfigured(
            "machine-client routes are off: set CONTACTPOINT_PUBLIC_ORIGIN to the service's "
            "public origin (e.g. https://contactpoint.example.gov.uk)"
        )
    return f"{origin}/oauth/token"


@public_router.post("/oauth/token", name="token")
def token(
    request: Request,
    grant_type: Annotated[str, Form()] = "",
    client_assertion_type: Annotated[str, Form()] = "",
    client_assertion: Annotated[str, Form()] = "",
    scope: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    """Exchange a signed client assertion for a short-lived bearer token."""
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
    if client_assertion_type != ASSERTION_TYPE or not client_assertion:
        raise OAuthError("invalid_request", "a private_key_jwt client assertion is required")
    rt = runtime(request)
    audience = token_url(request)
    address = client_address(request)
    failure: ContactPointError | None = None
    with rt.transaction() as conn:
        service = rt.service(conn)
        now = rt.clock()
        known = clients.claimed_client(conn, client_assertion)
        claimed = known.client_id if known else None
        anonymous = AuditContext(None, None, request_id(request))
        try:
            if service.token_throttled(address, claimed):
                raise OAuthError(
                    "slow_down", "too many refused token requests; try again later", 429
                )
            client = clients.verify_assertion(
                conn, client_assertion, token_url=audience, now=now, settings=rt.access
            )
            if not service.organisation_by_id(client.organisation_id).accredited:
                raise clients.invalid_client("the client's organisation is not accredited")
            grant = clients.issue_token(
                conn, client, requested_scope=scope, now=now, settings=rt.access
            )
        except OAuthError as exc:
            failure = exc
            service.record_token_refusal(address, claimed, exc.error, anonymous)
        if failure is None:
            org = service.organisation_by_id(grant.client.organisation_id)
            service.audit(
                AuditContext(f"client:{client.client_id}", org.code, request_id(request)),
                AuditAction.TOKEN_ISSUED,
                subject=f"client:{client.client_id}",
                details={"scope": grant.scope, "expires_in": grant.expires_in},
            )
    if failure is not None:
        raise failure
    return JSONResponse(
        {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": grant.expires_in,
            "scope": grant.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@public_router.get("/.well-known/smart-configuration")
def smart_configuration(request: Request) -> dict[str, Any]:
    return {
        "token_endpoint": token_url(request),
        "grant_types_supported": [GRANT_TYPE],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(clients.ALGORITHMS),
        "scopes_supported": sorted(CLIENT_GRANTABLE),
        "capabilities": ["client-confidential-asymmetric"],
    }
