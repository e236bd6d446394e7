"""Who may sign in at all: vetting, training, agreement, suspension, accreditation.

Pure rules over plain values; the service loads the facts and asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

VETTING_VALID_YEARS = 3


@dataclass(frozen=True)
class Standing:
    """The facts about a user that decide whether they may use the index today."""

    suspended: bool
    organisation_accredited: bool
    vetted_on: date | None
    trained_on: date | None
    agreement_signed_on: date | None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def vetting_expires_on(vetted_on: date) -> date:
    """The first day on which a DBS check is too old (older than three years)."""
    return _add_years(vetted_on, VETTING_VALID_YEARS)


def refusals(standing: Standing, today: date) -> list[str]:
    """Reasons this user may not use the index today; empty when they may."""
    reasons: list[str] = []
    if standing.suspended:
        reasons.append("account suspended")
    if not standing.organisation_accredited:
        reasons.append("organisation not accredited")
    if standing.vetted_on is None:
        reasons.append("no DBS check recorded")
    elif standing.vetted_on > today:
        reasons.append("DBS check dated in the future")
    elif today > vetting_expires_on(standing.vetted_on):
        reasons.append("DBS check older than three years")
    if standing.trained_on is None or standing.trained_on > today:
        reasons.append("training not completed")
    if standing.agreement_signed_on is None or standing.agreement_signed_on > today:
        reasons.append("user agreement not signed")
    return reasons
