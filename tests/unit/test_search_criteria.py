"""The accepted minimum search combinations (spec/cli.md, "search")."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.domain.search import CriteriaRefused, SearchCriteria, checked
from contactpoint.errors import ValidationFailed

NHS = "9434765919"
UPN = "A123456789012"  # shape only; the check letter is computed below


def _upn() -> str:
    from contactpoint.domain.identifiers import upn_check_letter

    tail = "000000000120"
    return upn_check_letter(tail) + tail


D = date(2014, 2, 3)
ACCEPTED = [
    SearchCriteria(nhs_number=NHS),
    SearchCriteria(nhs_number="943 476 5919"),
    SearchCriteria(upn=_upn()),
    SearchCriteria(given_name="Ada", family_name="Stone", date_of_birth=D),
    SearchCriteria(family_name="Stone", date_of_birth=D, postcode="LS1 1AA"),
    SearchCriteria(family_name="Stone", date_of_birth=D, postcode="LS1"),
    SearchCriteria(given_name="Ada", date_of_birth=D, postcode="LS1 1AA"),
    SearchCriteria(given_name="Ada", family_name="Stone", born_from=date(2012, 1, 1),
                   born_to=date(2016, 12, 31), postcode="LS1"),
    SearchCriteria(given_name="Ada", family_name="Stone", born_from=date(2012, 1, 1),
                   born_to=date(2016, 12, 31), town="Leeds"),
    SearchCriteria(given_name="Ada", family_name="Stone", date_of_birth=D, sex="F"),
    SearchCriteria(nhs_number=NHS, sex="F", town="Leeds"),
]
REFUSED = [
    SearchCriteria(),
    SearchCriteria(given_name="Ada", family_name="Stone"),
    SearchCriteria(family_name="Stone", date_of_birth=D),
    SearchCriteria(given_name="Ada", date_of_birth=D),
    SearchCriteria(date_of_birth=D, postcode="LS1 1AA"),
    SearchCriteria(given_name="Ada", family_name="Stone", postcode="LS1 1AA"),
    SearchCriteria(given_name="Ada", family_name="Stone", date_of_birth=None, sex="F",
                   town="Leeds"),
    SearchCriteria(family_name="Stone", date_of_birth=D, town="Leeds"),
    SearchCriteria(given_name="Ada", family_name="Stone", born_from=date(2010, 1, 1),
                   born_to=date(2016, 1, 2), postcode="LS1"),  # over five years
    SearchCriteria(given_name="  ", family_name="Stone", date_of_birth=D),  # blank is absent
]


@pytest.mark.parametrize("criteria", ACCEPTED)
def test_accepted(criteria: SearchCriteria) -> None:
    assert checked(criteria).used()


@pytest.mark.parametrize("criteria", REFUSED)
def test_refused_names_the_accepted_combinations(criteria: SearchCriteria) -> None:
    with pytest.raises(CriteriaRefused, match="accepted combinations: nhs_number alone"):
        checked(criteria)


@pytest.mark.parametrize("criteria", [
    SearchCriteria(nhs_number="9434765910"),  # check digit
    SearchCriteria(upn="A12345678901X"),
    SearchCriteria(given_name="Ada", family_name="Stone", born_from=date(2016, 1, 1),
                   born_to=date(2015, 1, 1), town="Leeds"),
    SearchCriteria(given_name="Ada", family_name="Stone", born_from=date(2016, 1, 1),
                   town="Leeds"),
    SearchCriteria(given_name="123", family_name="Stone", date_of_birth=D),
])
def test_malformed_criteria_say_what_is_wrong(criteria: SearchCriteria) -> None:
    with pytest.raises(ValidationFailed):
        checked(criteria)
