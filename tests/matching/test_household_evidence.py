"""Training decides from the data whether the home is one household comparison."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from contactpoint.matching.fit import measure
from contactpoint.matching.model import base_settings
from contactpoint.matching.normalise import prepare
from contactpoint.matching.splinkdb import connect, load_table

from .conftest import frame, record


def _evidence(rows: list[dict[str, object]], tmp_path: Path) -> dict[str, object]:
    con = connect(tmp_path)
    try:
        load_table(con, "lf", prepare(frame(rows)))
        population = measure(con)
        return {**population.evidence, "household_structure": population.households,
                "multiple_births": population.multiple_births}
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


def test_a_dedupe_file_gives_no_evidence_and_the_ages_decide(tmp_path: Path) -> None:
    """A source holding many records of each person (FEBRL 1-3) fakes siblings and twins:
    it gives no evidence; a population of adults then has an address each and no twins, a
    population of children households and multiple births."""
    def copies(born: int) -> list[dict[str, object]]:
        rows = []
        for i, name in enumerate(("Amelia", "Joseph", "Ruby", "Noah")):
            for k in range(3):  # three records of each person, one a different forename
                rows.append(record(10 * i + k, source_code="ONE-FILE",
                                   given_name=name if k < 2 else "Zebedee",
                                   address_line_1=f"{i} Juniper Road",
                                   date_of_birth=date(born + 20 * i, 1, 1)))
        return rows
    adults = _evidence(copies(1930), tmp_path / "a")
    assert adults["dedupe_sources"] == ["ONE-FILE"]
    assert adults["household_structure"] is False
    assert adults["multiple_births"] is False
    kids = [{**r, "date_of_birth": date(2010 + int(r["record_key"]) // 10, 1, 1)}  # type: ignore[call-overload]
            for r in copies(1930)]
    children = _evidence(kids, tmp_path / "c")
    assert children["household_structure"] is True
    assert children["multiple_births"] is True
