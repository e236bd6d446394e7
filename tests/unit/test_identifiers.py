from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.domain.identifiers import (
    UPN_LETTERS,
    InvalidIdentifier,
    format_child_id,
    is_valid_nhs_number,
    is_valid_postcode,
    is_valid_upn,
    nhs_check_digit,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    parse_child_id,
    postcode_district,
    upn_check_letter,
)

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


def test_known_nhs_numbers() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert not is_valid_nhs_number("9434765918")
    assert not is_valid_nhs_number("94347659")
    assert not is_valid_nhs_number("94347659１9")  # full-width digit


@given(nine_digits)
def test_nhs_number_with_its_check_digit_is_valid(first_nine: str) -> None:
    check = nhs_check_digit(first_nine)
    if check is None:  # remainder 10: no valid number starts with these digits
        assert not any(is_valid_nhs_number(first_nine + str(d)) for d in range(10))
    else:
        assert is_valid_nhs_number(first_nine + str(check))
        assert normalise_nhs_number(f"{first_nine[:3]} {first_nine[3:6]} {first_nine[6:]}{check}")


@given(nine_digits, st.integers(0, 9), st.integers(1, 9))
def test_nhs_number_single_digit_error_is_caught(first_nine: str, pos: int, delta: int) -> None:
    check = nhs_check_digit(first_nine)
    if check is None:
        return
    number = list(first_nine + str(check))
    number[pos] = str((int(number[pos]) + delta) % 10)
    assert not is_valid_nhs_number("".join(number))


upn_bodies = st.builds(
    lambda digits, last: digits + last,
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.sampled_from(list("0123456789" + UPN_LETTERS)),
)


@given(upn_bodies)
def test_upn_with_its_check_letter_is_valid(body: str) -> None:
    upn = upn_check_letter(body) + body
    assert is_valid_upn(upn)
    assert normalise_upn(upn.lower()) == upn


@given(upn_bodies, st.integers(1, 11), st.integers(1, 9))
def test_upn_single_digit_error_is_caught(body: str, pos: int, delta: int) -> None:
    upn = list(upn_check_letter(body) + body)
    upn[pos] = str((int(upn[pos]) + delta) % 10)
    assert not is_valid_upn("".join(upn))


def test_upn_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidIdentifier, match="13 characters"):
        normalise_upn("A12345")
    with pytest.raises(InvalidIdentifier):
        normalise_upn("I" + "0" * 12)  # I is never a check letter


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("sw1a1aa", "SW1A 1AA"), (" M1 1AE ", "M1 1AE"), ("b33  8th", "B33 8TH"),
     ("CR2 6XH", "CR2 6XH"), ("dn551pt", "DN55 1PT"), ("gir0aa", "GIR 0AA")],
)
def test_postcodes_normalise(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected
    assert postcode_district(expected) == expected.split(" ")[0]


@pytest.mark.parametrize("raw", ["", "2000", "SW1A", "1AA SW1", "SW1A 1AAA", "QQ1 1QQQ"])
def test_bad_postcodes_are_refused(raw: str) -> None:
    assert not is_valid_postcode(raw)


@given(st.text(alphabet=" abcdefghjklmnprstuwxyz0123456789", max_size=10))
def test_postcode_normalisation_is_idempotent(raw: str) -> None:
    if is_valid_postcode(raw):
        once = normalise_postcode(raw)
        assert normalise_postcode(once) == once


@given(st.integers(1, 10**11 - 1))
def test_child_id_round_trips_and_is_never_an_nhs_number(n: int) -> None:
    child_id = format_child_id(n)
    assert len(child_id) == 12
    assert parse_child_id(child_id) == n


@given(st.integers(1, 10**11 - 1), st.integers(0, 10))
def test_child_id_catches_adjacent_transpositions(n: int, pos: int) -> None:
    digits = list(format_child_id(n))
    if digits[pos] == digits[pos + 1]:
        return
    digits[pos], digits[pos + 1] = digits[pos + 1], digits[pos]
    with pytest.raises(InvalidIdentifier):
        parse_child_id("".join(digits))
