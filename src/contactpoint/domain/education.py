"""Children missing education: pure rules over a child's date of birth and education settings.

Compulsory school age is taken as 5 to 16 on the report date (5th birthday passed, 16th not
yet): a simplification of the statutory rule (from the term after the 5th birthday to the last
Friday of June of the school year in which the child turns 16), stated in docs/council.md.
A child is missing education when no setting is current on the date and either none is known
or the last one ended more than ``grace_days`` before it (default 28 days, about 20 school
days). A setting whose source record was withdrawn (retired or deleted) without an end date
ends on the day it was withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

DEFAULT_GRACE_DAYS = 28
COMPULSORY_FROM, COMPULSORY_TO = 5, 16


class MissingReason(StrEnum):
    NO_SETTING = "no_setting"  # no education setting ever recorded
    SETTING_ENDED = "setting_ended"  # the last one ended more than grace_days ago


@dataclass(frozen=True, slots=True)
class Setting:
    org_code: str | None
    org_name: str | None
    start: date | None
    end: date | None
    source_code: str


def age_on(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def compulsory_school_age(dob: date, on: date) -> bool:
    return COMPULSORY_FROM <= age_on(dob, on) < COMPULSORY_TO


def _current(s: Setting, on: date) -> bool:
    return (s.start is None or s.start <= on) and (s.end is None or s.end >= on)


def last_setting(settings: Iterable[Setting]) -> Setting | None:
    """The most recent setting: the latest end (an open one counts as latest), then start."""
    items = list(settings)
    if not items:
        return None
    return max(items, key=lambda s: (s.end or date.max, s.start or date.min,
                                     s.org_code or "", s.source_code))


def missing(dob: date, settings: Iterable[Setting], on: date,
            grace_days: int = DEFAULT_GRACE_DAYS) -> MissingReason | None:
    """Why the child is missing education on ``on`` (``None``: not missing, or not of
    compulsory school age)."""
    if not compulsory_school_age(dob, on):
        return None
    items = [s for s in settings if s.start is None or s.start <= on]
    if any(_current(s, on) for s in items):
        return None
    last = last_setting(items)
    if last is None:
        return MissingReason.NO_SETTING
    assert last.end is not None  # none is current, so every one has ended
    if last.end < on - timedelta(days=grace_days):
        return MissingReason.SETTING_ENDED
    return None
