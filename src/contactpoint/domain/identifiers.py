"""Identifiers a child carries: NHS number, Unique Pupil Number, postcode, Contactpoint id.

Each ``normalise_*`` returns the canonical form or raises :class:`InvalidIdentifier`
with the reason; each ``is_valid_*`` is the boolean form of the same check.
"""

from __future__ import annotations

import re

from contactpoint.errors import ValidationFailed


class InvalidIdentifier(ValidationFailed):
    code = "invalid_identifier"


# --- NHS number (NHS Data Dictionary: modulus 11) -------------------------------------------

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or ``None`` when no valid number can end them."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs_number(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise InvalidIdentifier("an NHS number is 10 digits")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise InvalidIdentifier("NHS number fails the modulus 11 check")
    return digits


def is_valid_nhs_number(value: str) -> bool:
    try:
        normalise_nhs_number(value)
    except InvalidIdentifier:
        return False
    return True


# --- Unique Pupil Number (DfE UPN guide: check letter, modulus 23) -----------------------------

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23 letters: no I, O, S
_UPN_LETTER_VALUE = {c: i for i, c in enumerate(UPN_LETTERS)}
_UPN_SHAPE = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$")


def upn_check_letter(last_twelve: str) -> str:
    """The check letter (character 1) for UPN characters 2 to 13."""
    total = 0
    for weight, char in enumerate(last_twelve, start=2):
        value = int(char) if char.isdigit() else _UPN_LETTER_VALUE[char]
        total += value * weight
    return UPN_LETTERS[total % 23]


def normalise_upn(value: str) -> str:
    upn = value.strip().upper()
    if not _UPN_SHAPE.match(upn):
        raise InvalidIdentifier(
            "a UPN is 13 characters: a check letter, 11 digits, and a digit or letter"
        )
    if upn_check_letter(upn[1:]) != upn[0]:
        raise InvalidIdentifier("UPN check letter does not match")
    return upn


def is_valid_upn(value: str) -> bool:
    try:
        normalise_upn(value)
    except InvalidIdentifier:
        return False
    return True


# Characters 2 to 10 of a UPN say who allocated it and when: the local authority (2-4), the
# school's DfE establishment number (5-8) and the year of allocation (9-10); 11 to 13 are the
# school's serial (DfE, "Unique pupil numbers (UPN): guidance for schools").
UPN_ALLOCATION_START, UPN_ALLOCATION_LENGTH = 2, 9  # 1-based, as SQL's substr counts


def upn_allocation(upn: str) -> str:
    """Who allocated a valid UPN, and in which year (characters 2-10). A school gives each
    pupil it admits one UPN: two UPNs of one allocation are two pupils (twins admitted
    together), while a pupil's second UPN comes from another school (a move)."""
    start = UPN_ALLOCATION_START - 1
    return upn[start:start + UPN_ALLOCATION_LENGTH]


# --- UK postcode ------------------------------------------------------------------------------

_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2})$")


def normalise_postcode(value: str) -> str:
    """Upper case, single space before the inward code: ``" sw1a1aa "`` -> ``"SW1A 1AA"``."""
    compact = re.sub(r"\s+", "", value).upper()
    if not _POSTCODE.match(compact):
        raise InvalidIdentifier("not the shape of a UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def is_valid_postcode(value: str) -> bool:
    try:
        normalise_postcode(value)
    except InvalidIdentifier:
        return False
    return True


def postcode_district(postcode: str) -> str:
    """The outward code of a normalised postcode: ``"SW1A 1AA"`` -> ``"SW1A"``."""
    return postcode.split(" ", 1)[0]


# --- Contactpoint child id (sequence number + Damm check digit) -------------------------------

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
CHILD_ID_LENGTH = 12  # never 10, so it cannot be mistaken for an NHS number


def damm_digit(digits: str) -> int:
    interim = 0
    for d in digits:
        interim = _DAMM[interim][int(d)]
    return interim


def format_child_id(sequence_number: int) -> str:
    """The public child id for a sequence number: 11 digits and a Damm check digit.

    Damm catches every single-digit error and every adjacent transposition. Sequence numbers
    come from the database and are never reused, so neither are child ids.
    """
    if not 0 < sequence_number < 10 ** (CHILD_ID_LENGTH - 1):
        raise InvalidIdentifier("child sequence number out of range")
    body = f"{sequence_number:0{CHILD_ID_LENGTH - 1}d}"
    return f"{body}{damm_digit(body)}"


def parse_child_id(value: str) -> int:
    """The sequence number behind a public child id (spaces allowed), after its check."""
    digits = value.replace(" ", "")
    if len(digits) != CHILD_ID_LENGTH or not digits.isascii() or not digits.isdigit():
        raise InvalidIdentifier(f"a child id is {CHILD_ID_LENGTH} digits")
    if damm_digit(digits) != 0:
        raise InvalidIdentifier("child id check digit does not match")
    return int(digits[:-1])
