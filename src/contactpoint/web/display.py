"""How dates and times read on the pages: GOV.UK style ("6 December 2026", "6 Dec 2026 at
19:45"), UTC. ISO strings (the JSON services' shape) are read too."""

from __future__ import annotations

from datetime import date, datetime


def _value(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def day(value: date | datetime | str | None) -> str:
    """``6 December 2026`` (empty for none)."""
    found = _value(value)
    return "" if found is None else found.strftime("%-d %B %Y")


def moment(value: date | datetime | str | None) -> str:
    """``6 Dec 2026 at 19:45`` (UTC; a date alone reads as a day)."""
    found = _value(value)
    if found is None:
        return ""
    if not isinstance(found, datetime):
        return day(found)
    return found.strftime("%-d %b %Y at %H:%M")
