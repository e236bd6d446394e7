"""The start page after sign-in: what this person's role can do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Role
from contactpoint.web import navigation
from contactpoint.web.guard import page_user
from contactpoint.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_user)])

_WELCOME: dict[Role, tuple[str, str]] = {
    Role.PRACTITIONER: (
        "Find a child",
        "Find a child's record and see who else is working with them.",
    ),
    Role.COUNCIL_TEAM: (
        "Your council's work",
        "Manage your area's users, shields, brokered contact and review items.",
    ),
    Role.NATIONAL_ADMIN: (
        "Run the service",
        "Manage organisations, users, machine clients and feeds.",
    ),
    Role.AUDITOR: (
        "Audit",
        "See who searched for and looked at children's records, and check the audit trail.",
    ),
}


@router.get("/")
def start_page(request: Request, principal: Annotated[Principal, Depends(page_user)]) -> Response:
    heading, lede = _WELCOME.get(principal.role or Role.PRACTITIONER, ("Contactpoint", ""))
    return render(
        request,
        "home.html",
        {
            "title": heading,
            "heading": heading,
            "lede": lede,
            "tasks": navigation.tasks(principal),
        },
        principal=principal,
    )
