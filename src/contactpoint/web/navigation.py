"""What each role can do: the start page's task list and the service navigation.

Later journeys (search, records, shields, review) add their entries here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission


@dataclass(frozen=True)
class Task:
    href: str
    label: str
    description: str
    permission: Permission


TASKS: tuple[Task, ...] = (
    Task(
        "/search",
        "Find a child",
        "Search for a child, see their record and who else is working with them.",
        Permission.RECORD_CHILD_SEARCH,
    ),
    Task(
        "/contact-requests",
        "Your contact requests",
        "Requests you made to be put in touch about a shielded child, and their answers.",
        Permission.RECORD_CONTACT_REQUEST,
    ),
    Task(
        "/users",
        "Users",
        "Add users, suspend them and keep their vetting, training and agreement dates.",
        Permission.ADMIN_USER_MANAGE,
    ),
    Task(
        "/audit",
        "Search the audit trail",
        "Find who searched for or looked at a child, or what a user did, and when.",
        Permission.AUDIT_TRAIL_READ,
    ),
    Task(
        "/audit/verify",
        "Check the audit trail",
        "Check that no entry of the audit trail has been changed or removed.",
        Permission.AUDIT_TRAIL_READ,
    ),
)


def tasks(principal: Principal | None) -> list[Task]:
    if principal is None:
        return []
    return [task for task in TASKS if principal.has(task.permission)]


def items(principal: Principal | None, path: str) -> list[dict[str, Any]]:
    """Service navigation items for ``govukServiceNavigation``."""
    found: list[dict[str, Any]] = []
    for task in tasks(principal):
        if task.href == "/audit/verify":
            continue  # reached from the audit pages
        current = path == task.href or path.startswith(task.href + "/")
        found.append({"href": task.href, "text": task.label, "active": current})
    return found
