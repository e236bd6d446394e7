"""The service navigation: tasks by permission, some on the start page only, and one active
item (the most specific)."""

from __future__ import annotations

from contactpoint.access.models import Organisation, Principal
from contactpoint.access.permissions import Role, permissions_for
from contactpoint.web import navigation


def person(role: Role) -> Principal:
    org = Organisation(1, "ORG", "Organisation", "local_authority", "931", True)
    return Principal("user", 1, "someone", org, role, permissions_for(role))


def test_a_council_team_sees_its_work_and_one_active_item() -> None:
    team = person(Role.COUNCIL_TEAM)
    on_start_page = {t.href for t in navigation.tasks(team)}
    assert {"/council", "/review", "/council/missing-education", "/council/grants",
            "/council/investigations", "/users"} <= on_start_page
    items = navigation.items(team, "/council/investigations/4")
    hrefs = [i["href"] for i in items]
    assert "/council/grants" not in hrefs  # reached from the work list and the start page
    assert "/council/investigations" not in hrefs
    assert [i["href"] for i in items if i["active"]] == ["/council"]
    assert [i["href"] for i in navigation.items(team, "/review/7") if i["active"]] == ["/review"]


def test_the_most_specific_task_is_the_active_one() -> None:
    auditor = person(Role.AUDITOR)
    items = navigation.items(auditor, "/audit/investigations")
    assert [i["href"] for i in items if i["active"]] == ["/audit/investigations"]
    assert [i["href"] for i in navigation.items(auditor, "/audit/verify")
            if i["active"]] == ["/audit"]
    assert "/council" not in {t.href for t in navigation.tasks(auditor)}
    assert navigation.items(None, "/") == []
