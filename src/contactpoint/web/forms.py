"""Reading GOV.UK form patterns (date inputs) into values, with GOV.UK error messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from contactpoint.web.templating import FieldError


@dataclass(frozen=True)
class DateField:
    """A GOV.UK date input: ``<name>-day``, ``<name>-month``, ``<name>-year``."""

    name: str
    label: str  # in error messages: "The DBS check date must include a month"
    legend: str = ""  # above the three fields: "DBS check date"

    def raw(self, form: Mapping[str, Any]) -> dict[str, str]:
        return {part: str(form.get(f"{self.name}-{part}", "")).strip()[:8]
                for part in ("day", "month", "year")}

    def read(self, form: Mapping[str, Any], errors: list[FieldError]) -> date | None:
        """The date, ``None`` when all three are empty; appends an error when it is not a date."""
        parts = self.raw(form)
        if not any(parts.values()):
            return None
        missing = [part for part in ("day", "month", "year") if not parts[part]]
        if missing:
            errors.append(
                FieldError(f"{self.name}-{missing[0]}", f"{self.label} must include a {missing[0]}")
            )
            return None
        if not all(v.isdigit() for v in parts.values()) or len(parts["year"]) != 4:
            errors.append(FieldError(f"{self.name}-day", f"{self.label} must be a real date"))
            return None
        try:
            return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            errors.append(FieldError(f"{self.name}-day", f"{self.label} must be a real date"))
            return None


def date_items(value: date | Mapping[str, str] | None, field: str,
               errors: list[FieldError]) -> list[dict[str, Any]]:
    """``items`` for ``govukDateInput``, filled from a date or from what was typed."""
    if isinstance(value, date):
        typed = {"day": str(value.day), "month": str(value.month), "year": str(value.year)}
    else:
        typed = dict(value or {})
    has_error = any(e.field.startswith(f"{field}-") for e in errors)
    error_class = " govuk-input--error" if has_error else ""
    return [
        {"name": "day", "classes": "govuk-input--width-2" + error_class,
         "value": typed.get("day", "")},
        {"name": "month", "classes": "govuk-input--width-2" + error_class,
         "value": typed.get("month", "")},
        {"name": "year", "classes": "govuk-input--width-4" + error_class,
         "value": typed.get("year", "")},
    ]


_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


@dataclass(frozen=True)
class TimeField:
    """A time of day typed as ``14:30`` (24-hour clock; ``9.30`` accepted too)."""

    name: str
    label: str

    def read(self, form: Mapping[str, Any], errors: list[FieldError]) -> time | None:
        typed = str(form.get(self.name, "")).strip()[:8]
        if not typed:
            return None
        match = _TIME.match(typed)
        if match is None:
            errors.append(
                FieldError(self.name, f"{self.label} must be a time like 9:30 or 14:15")
            )
            return None
        return time(int(match.group(1)), int(match.group(2)))
