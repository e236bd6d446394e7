"""Training decides from the data whether the home is one household comparison."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from contactpoint.matching.model import base_settings
from contactpoint.matching.normalise import prepare
from contactpoint.matching.splinkdb import connect, load_table
from contactpoint.matching.training import household_evidence

from .conftest import frame, record


def _evidence(rows: list[dict[str, object]], tmp_path: Path) -> dict[str, object]:
    con = connect(tmp_path)
    try:
        load_table(con, "lf", prepare(frame(rows)))
        return household_evidence(con, len(rows))
    finally:
        con.close()


def test_siblings_sharing_a_home_in_one_source_show_household_structure(tmp_path: Path) -> None:
    rows = [
        record(i, given_name=name, date_of_birth=date(2010 + i, 1, 1))
        for i, name in enumerate(("Amelia", "Joseph", "Ruby", "Noah"), start=1)
    ]
    out = _evidence(rows, tmp_path)
    assert out["within_shared_home_pairs"] == 6
    assert out["household_structure"] is True


def test_people_with_addresses_of_their_own_show_none(tmp_path: Path) -> None:
    rows = [
        record(i, given_name=name, address_line_1=f"{i} Juniper Road",
               date_of_birth=date(2010 + i, 1, 1))
        for i, name in enumerate(("Amelia", "Joseph", "Ruby", "Noah"), start=1)
    ]
    # the same person in another source at the same home is not household evidence
    rows.append(record(9, source_code="HMRC-CHB", address_line_1="1 Juniper Road",
                       date_of_birth=date(2011, 1, 1)))
    out = _evidence(rows, tmp_path)
    assert out["within_shared_home_pairs"] == 0
    assert out["household_structure"] is False


def test_the_two_address_treatments() -> None:
    with_households = {c["output_column_name"] for c in base_settings(True)["comparisons"]}
    without = {c["output_column_name"] for c in base_settings(False)["comparisons"]}
    assert "household" in with_households
    assert "postcode" not in with_households
    assert {"postcode", "house_number", "street", "town", "carers"} <= without
    assert "household" not in without
    assert len(base_settings(False)["blocking_rules_to_generate_predictions"]) > len(
        base_settings(True)["blocking_rules_to_generate_predictions"]
    )
