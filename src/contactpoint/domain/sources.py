"""Source systems and how far each is trusted for each field (survivorship authority).

A higher rank wins. A source not listed here is registered on first import with rank 0 for
every field: it can fill a gap, never overrule a national or statutory source.
"""

from __future__ import annotations

from enum import StrEnum


class RecordField(StrEnum):
    """The child-record fields that survivorship chooses between sources."""

    NAME = "name"
    DATE_OF_BIRTH = "date_of_birth"
    SEX = "sex"
    ADDRESS = "address"
    NHS_NUMBER = "nhs_number"
    UPN = "upn"
    CARERS = "carers"
    GP_PRACTICE = "gp_practice"
    EDUCATION_SETTING = "education_setting"


LOWEST_AUTHORITY = 0

_F = RecordField
# rank per field for the national sources; local sources (LA-CSC-*, YOT-*) share a profile.
KNOWN_SOURCE_AUTHORITY: dict[str, dict[RecordField, int]] = {
    "GRO-BIRTHS": {_F.NAME: 90, _F.DATE_OF_BIRTH: 100, _F.SEX: 100, _F.ADDRESS: 20,
                   _F.NHS_NUMBER: 60, _F.UPN: 0, _F.CARERS: 80, _F.GP_PRACTICE: 0,
                   _F.EDUCATION_SETTING: 0},
    "NHS-PDS": {_F.NAME: 80, _F.DATE_OF_BIRTH: 90, _F.SEX: 90, _F.ADDRESS: 80,
                _F.NHS_NUMBER: 100, _F.UPN: 0, _F.CARERS: 50, _F.GP_PRACTICE: 100,
                _F.EDUCATION_SETTING: 0},
    "DFE-CENSUS": {_F.NAME: 70, _F.DATE_OF_BIRTH: 70, _F.SEX: 70, _F.ADDRESS: 70,
                   _F.NHS_NUMBER: 0, _F.UPN: 100, _F.CARERS: 60, _F.GP_PRACTICE: 0,
                   _F.EDUCATION_SETTING: 100},
    "HMRC-CHB": {_F.NAME: 60, _F.DATE_OF_BIRTH: 60, _F.SEX: 60, _F.ADDRESS: 90,
                 _F.NHS_NUMBER: 0, _F.UPN: 0, _F.CARERS: 90, _F.GP_PRACTICE: 0,
                 _F.EDUCATION_SETTING: 0},
}
_LOCAL_PROFILE: dict[RecordField, int] = {
    _F.NAME: 50, _F.DATE_OF_BIRTH: 50, _F.SEX: 50, _F.ADDRESS: 60, _F.NHS_NUMBER: 30,
    _F.UPN: 30, _F.CARERS: 70, _F.GP_PRACTICE: 10, _F.EDUCATION_SETTING: 10,
}
LOCAL_SOURCE_PREFIXES = ("LA-CSC-", "YOT-", "LA-")


def default_authority(source_code: str) -> tuple[dict[RecordField, int], bool]:
    """The authority profile for a source code, and whether the code was recognised."""
    if source_code in KNOWN_SOURCE_AUTHORITY:
        return dict(KNOWN_SOURCE_AUTHORITY[source_code]), True
    if source_code.startswith(LOCAL_SOURCE_PREFIXES):
        return dict(_LOCAL_PROFILE), True
    return dict.fromkeys(RecordField, LOWEST_AUTHORITY), False


def local_authority_code(source_code: str) -> str | None:
    """``LA-CSC-202`` or ``YOT-202`` -> ``202``: the council a local source belongs to."""
    for prefix in LOCAL_SOURCE_PREFIXES:
        if source_code.startswith(prefix):
            return source_code[len(prefix):].rsplit("-", 1)[-1] or None
    return None
