"""Jinja2 with the GOV.UK Frontend macros (``govuk-frontend-jinja``) and one ``render``."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

from contactpoint.access.models import Principal
from contactpoint.api.runtime import runtime
from contactpoint.api.security import current_principal
from contactpoint.web import assets, csrf, navigation

TEMPLATES = Path(__file__).parent / "templates"
SERVICE_NAME = "Contactpoint"

# GOV.UK Frontend's page template adds one inline script (it marks the body ``js-enabled``).
# The CSP allows exactly that script by its hash (GOV.UK's documented way); a test renders
# the page and checks the hash still matches.
GOVUK_INLINE_SCRIPT = (
    "document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? "
    "' govuk-frontend-supported' : '');"
)


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@dataclass(frozen=True)
class FieldError:
    """One problem for the GOV.UK error summary: the field's id (the link) and the message."""

    field: str
    message: str


def error_for(errors: list[FieldError], field: str) -> dict[str, str] | None:
    """The ``errorMessage`` parameter of a GOV.UK field macro (``None`` when it has none)."""
    for error in errors:
        if error.field == field:
            return {"text": error.message}
    return None


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["service_name"] = SERVICE_NAME
    env.globals["error_for"] = error_for
    return env


def page_title(title: str, errors: list[FieldError] | None = None) -> str:
    """GOV.UK pattern: ``<page> – <service> – GOV.UK``, ``Error: `` first when there are errors."""
    prefix = "Error: " if errors else ""
    return f"{prefix}{title} – {SERVICE_NAME} – GOV.UK"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """Render ``template`` with what every page needs: who is signed in, the CSRF token, the
    navigation, the idle time-out. ``context`` must hold ``title`` (the page's own title)."""
    if principal is None:
        principal = current_principal(request)
    rt = runtime(request)
    errors: list[FieldError] = list(context.get("errors") or [])
    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.token_for(request),
        "navigation": navigation.items(principal, request.url.path),
        "assets_built": assets.govuk_built(),
        "assets_hint": assets.BUILD_HINT.format(dir="src/contactpoint/web/static/govuk"),
        "idle_seconds": rt.access.session_idle_minutes * 60,
        "idle_minutes": rt.access.session_idle_minutes,
        "reauth_minutes": rt.access.reauth_minutes,
        "errors": errors,
        **context,
    }
    values["page_title"] = page_title(str(context["title"]), errors)
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    csrf.persist(request, response)
    return response
