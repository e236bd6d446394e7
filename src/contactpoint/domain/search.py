"""Practitioner search criteria: what a search may be made of (spec/cli.md, "search").

A search must be narrow enough to find one child, never a list to browse. The accepted minimum
combinations are declared once (:data:`ACCEPTED`); ``sex`` and further fields may be added to
any of them; anything broader is refused with the list of what is accepted. Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from contactpoint.domain.identifiers import (
    InvalidIdentifier,
    normalise_nhs_number,
    normalise_upn,
)
from contactpoint.errors import ValidationFailed

MAX_BIRTH_RANGE_YEARS = 5
MAX_RESULTS = 10
SEX_CODES = {"male": "M", "female": "F"}  # how a search names sex -> the record's code


class Criterion(StrEnum):
    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    DATE_OF_BIRTH = "date_of_birth"
    BIRTH_RANGE = "born_from+born_to"
    SEX = "sex"
    POSTCODE = "postcode"
    TOWN = "town"
    NHS_NUMBER = "nhs_number"
    UPN = "upn"


C = Criterion

# Each accepted combination: a tuple of requirements, each satisfied by any one criterion in it.
ACCEPTED: tuple[tuple[frozenset[Criterion], ...], ...] = (
    (frozenset({C.NHS_NUMBER}),),
    (frozenset({C.UPN}),),
    (frozenset({C.GIVEN_NAME}), frozenset({C.FAMILY_NAME}), frozenset({C.DATE_OF_BIRTH})),
    (frozenset({C.FAMILY_NAME}), frozenset({C.DATE_OF_BIRTH}), frozenset({C.POSTCODE})),
    (frozenset({C.GIVEN_NAME}), frozenset({C.DATE_OF_BIRTH}), frozenset({C.POSTCODE})),
    (frozenset({C.GIVEN_NAME}), frozenset({C.FAMILY_NAME}), frozenset({C.BIRTH_RANGE}),
     frozenset({C.POSTCODE, C.TOWN})),
)

ACCEPTED_TEXT: tuple[str, ...] = (
    "nhs_number alone",
    "upn alone",
    "given_name + family_name + date_of_birth",
    "family_name + date_of_birth + postcode",
    "given_name + date_of_birth + postcode",
    f"given_name + family_name + born_from and born_to (at most {MAX_BIRTH_RANGE_YEARS} years) "
    "+ postcode (full or district) or town",
)

# Fields a shielded child shows ordinary users: a search using anything else must not find one.
SHIELD_VISIBLE_CRITERIA = frozenset({C.GIVEN_NAME, C.FAMILY_NAME, C.DATE_OF_BIRTH,
                                     C.BIRTH_RANGE, C.SEX})


class CriteriaRefused(ValidationFailed):
    code = "search_criteria_refused"


_NAME = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class SearchCriteria:
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    born_from: date | None = None
    born_to: date | None = None
    sex: str | None = None  # 'M' / 'F'
    postcode: str | None = None
    town: str | None = None
    nhs_number: str | None = None
    upn: str | None = None

    def used(self) -> frozenset[Criterion]:
        out = set()
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name in ("born_from", "born_to"):
                continue
            out.add(Criterion(f.name))
        if self.born_from is not None and self.born_to is not None:
            out.add(C.BIRTH_RANGE)
        return frozenset(out)

    def audit_form(self) -> dict[str, str]:
        """The criteria as typed, for the audit trail (the one place they are kept)."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) is not None}


def _blank(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _years_between(a: date, b: date) -> float:
    return (b - a).days / 365.25


def checked(raw: SearchCriteria) -> SearchCriteria:
    """Tidy (blanks are absent, identifiers normalised) and refuse what cannot be searched:
    a malformed identifier or range, or a combination broader than :data:`ACCEPTED`."""
    c = SearchCriteria(
        given_name=_blank(raw.given_name), family_name=_blank(raw.family_name),
        date_of_birth=raw.date_of_birth, born_from=raw.born_from, born_to=raw.born_to,
        sex=raw.sex, postcode=_blank(raw.postcode), town=_blank(raw.town),
        nhs_number=_blank(raw.nhs_number), upn=_blank(raw.upn),
    )
    for name in ("given_name", "family_name", "town"):
        value = getattr(c, name)
        if value is not None and not _NAME.search(value):
            raise ValidationFailed(f"{name} must contain letters")
    try:
        nhs = normalise_nhs_number(c.nhs_number) if c.nhs_number else None
        upn = normalise_upn(c.upn) if c.upn else None
    except InvalidIdentifier as exc:
        raise ValidationFailed(exc.message) from exc
    if (c.born_from is None) != (c.born_to is None):
        raise ValidationFailed("an age range needs both born_from and born_to")
    if c.born_from is not None and c.born_to is not None:
        if c.born_from > c.born_to:
            raise ValidationFailed("born_from is after born_to")
        if _years_between(c.born_from, c.born_to) > MAX_BIRTH_RANGE_YEARS:
            raise CriteriaRefused(_refusal_text(
                f"an age range spans at most {MAX_BIRTH_RANGE_YEARS} years"))
    c = SearchCriteria(**{**{f.name: getattr(c, f.name) for f in fields(c)},
                          "nhs_number": nhs, "upn": upn})
    if not accepted(c.used()):
        raise CriteriaRefused(_refusal_text("these criteria are too broad"))
    return c


def accepted(used: frozenset[Criterion]) -> bool:
    return any(all(req & used for req in combo) for combo in ACCEPTED)


def _refusal_text(why: str) -> str:
    return f"{why}; accepted combinations: " + "; ".join(ACCEPTED_TEXT)


__all__ = [
    "ACCEPTED",
    "ACCEPTED_TEXT",
    "MAX_BIRTH_RANGE_YEARS",
    "MAX_RESULTS",
    "SEX_CODES",
    "SHIELD_VISIBLE_CRITERIA",
    "CriteriaRefused",
    "Criterion",
    "SearchCriteria",
    "accepted",
    "checked",
]
