"""Pure council rules: who may act for a child's council, who may grant what, and the
children-missing-education rule."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.access.models import Organisation, Principal, User
from contactpoint.access.permissions import GrantablePermission, Permission, Role, permissions_for
from contactpoint.council.policy import council_refusal, grant_refusal
from contactpoint.domain.education import MissingReason, Setting, compulsory_school_age, missing


def org(la: str | None, kind: str = "council") -> Organisation:
    return Organisation(1, "o", "O", kind, la, True)


def principal(role: Role, la: str | None, uid: int = 1, kind: str = "user") -> Principal:
    return Principal(kind, uid, "u", org(la), role, permissions_for(role))  # type: ignore[arg-type]


def user(role: Role, la: str | None, uid: int = 2) -> User:
    return User(uid, "t", org(la), role, False, None, None, None, None)


def test_only_the_responsible_councils_team_acts_for_a_child() -> None:
    team = principal(Role.COUNCIL_TEAM, "202")
    assert council_refusal(team, "202", Permission.RECORD_SHIELD_SET) is None
    assert council_refusal(team, "886", Permission.RECORD_SHIELD_SET) is not None
    assert council_refusal(team, None, Permission.RECORD_SHIELD_SET) is not None
    assert council_refusal(principal(Role.PRACTITIONER, "202"), "202",
                           Permission.RECORD_SHIELD_SET) is not None
    assert council_refusal(principal(Role.NATIONAL_ADMIN, "202"), "202",
                           Permission.RECORD_SHIELD_SET) is not None


def test_grants_only_within_the_area_never_to_oneself() -> None:
    team = principal(Role.COUNCIL_TEAM, "202", uid=1)
    p = GrantablePermission.RECORD_SHIELD_OVERRIDE
    assert grant_refusal(team, user(Role.PRACTITIONER, "202"), p) is None
    assert grant_refusal(team, user(Role.PRACTITIONER, "886"), p) is not None
    assert grant_refusal(team, user(Role.COUNCIL_TEAM, "202", uid=1), p) is not None
    assert grant_refusal(team, user(Role.AUDITOR, "202"), p) is not None
    assert grant_refusal(principal(Role.NATIONAL_ADMIN, None), user(Role.PRACTITIONER, "202"),
                         p) is not None
    assert all(g.value in {x.value for x in Permission} for g in GrantablePermission)


ON = date(2026, 11, 25)


def school(start: date | None, end: date | None) -> Setting:
    return Setting("9072001", "Oak", start, end, "DFE-CENSUS")


@pytest.mark.parametrize(("dob", "settings", "expected"), [
    (date(2018, 1, 1), [school(date(2023, 9, 1), None)], None),
    (date(2018, 1, 1), [], MissingReason.NO_SETTING),
    (date(2018, 1, 1), [school(date(2023, 9, 1), date(2026, 9, 1))], MissingReason.SETTING_ENDED),
    (date(2018, 1, 1), [school(date(2023, 9, 1), date(2026, 11, 1))], None),  # within grace
    (date(2018, 1, 1), [school(date(2027, 1, 1), None)], MissingReason.NO_SETTING),  # future
    (date(2022, 1, 1), [], None),  # four: not yet of compulsory school age
    (date(2010, 11, 25), [], None),  # sixteen today
])
def test_missing_education(dob: date, settings: list[Setting],
                           expected: MissingReason | None) -> None:
    assert missing(dob, settings, ON) == expected


def test_compulsory_school_age_bounds() -> None:
    assert compulsory_school_age(date(2021, 11, 25), ON)  # fifth birthday today
    assert not compulsory_school_age(date(2021, 11, 26), ON)
    assert compulsory_school_age(date(2010, 11, 26), ON)  # sixteen tomorrow
