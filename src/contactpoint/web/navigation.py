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
    in_navigation: bool = True  # False: on the start page only (reached from another page)


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
    # the council team's work (web/council.py, shields.py, review.py, grants.py)
    Task(
        "/council",
        "Work list",
        "Contact requests, investigations, shield reviews, transfers and possible matches "
        "waiting for your council.",
        Permission.COUNCIL_WORKLIST_READ,
    ),
    Task(
        "/review",
        "Review possible matches",
        "Compare two records side by side and decide whether they are the same child.",
        Permission.LINKAGE_REVIEW_DECIDE,
    ),
    Task(
        "/council/missing-education",
        "Children missing education",
        "Children of compulsory school age with no current school or other setting.",
        Permission.COUNCIL_CME_REPORT,
    ),
    Task(
        "/council/investigations",
        "Investigations",
        "Record the outcome of an investigation into a shield override.",
        Permission.COUNCIL_INVESTIGATION_DECIDE,
        in_navigation=False,
    ),
    Task(
        "/council/grants",
        "Permissions for named users",
        "Let a named practitioner see shielded children's details, and take it back.",
        Permission.ADMIN_GRANT_MANAGE,
        in_navigation=False,
    ),
    Task(
        "/national/unallocated",
        "Children with no council",
        "Children none of whose records names a responsible council yet.",
        Permission.NATIONAL_RESPONSIBILITY_REPORT,
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
    Task(
        "/audit/investigations",
        "Investigations",
        "Every shield override investigation and its outcome.",
        Permission.AUDIT_INVESTIGATION_READ,
    ),
)


def tasks(principal: Principal | None) -> list[Task]:
    if principal is None:
        return []
    return [task for task in TASKS if principal.has(task.permission)]


def items(principal: Principal | None, path: str) -> list[dict[str, Any]]:
    """Service navigation items for ``govukServiceNavigation``."""
    found: list[dict[str, Any]] = []
    shown = [task for task in tasks(principal)
             if task.in_navigation and task.href != "/audit/verify"]
    within = [t.href for t in shown if path == t.href or path.startswith(t.href + "/")]
    current = max(within, key=len, default=None)  # the most specific task is the active one
    for task in shown:
        found.append({"href": task.href, "text": task.label, "active": task.href == current})
    return found
