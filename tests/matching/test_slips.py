"""A source's keying slip is not a second child; names in another order are one child's; twins
named alike stay apart (slips.py, twins.MIDDLE_NAMES_CONFLICT)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from contactpoint.domain.identifiers import upn_check_letter
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import dedupe, explain_pair
from contactpoint.matching.normalise import known_forenames
from contactpoint.matching.slips import is_slip, slip_forenames

from .conftest import frame, record


def upn(n: int) -> str:
    tail = f"80120000{n:04d}"
    return upn_check_letter(tail) + tail


def _cluster_of(clusters: pl.DataFrame) -> dict[int, int]:
    return dict(zip(clusters["record_key"], clusters["cluster_key"], strict=True))


@pytest.mark.parametrize(("slip", "name"), [
    ("jfef", "jeff"), ("spohia", "sophia"), ("pqige", "paige"), ("amwlia", "amelia"),
    ("jvon", "jevon"), ("arnelia", "amelia"), ("caivin", "calvin"), ("krisine", "kristine"),
    ("geoorge", "george"), ("willlow", "willow"), ("aisba", "aisha"), ("hadsa", "hafsa"),
])
def test_keying_slips(slip: str, name: str) -> None:
    assert is_slip(slip, name)


@pytest.mark.parametrize(("a", "b"), [
    ("amelie", "amelia"), ("hanna", "hana"), ("xavier", "javier"), ("aidan", "aiden"),
    ("lana", "lara"), ("lilly", "lily"), ("hanah", "hannah"), ("seth", "seth"),
    ("jemma", "jenna"), ("izabel", "isabel"), ("stevan", "stefan"),
])
def test_how_real_names_vary_is_no_slip(a: str, b: str) -> None:
    assert not is_slip(a, b)
    assert not is_slip(b, a)


def test_known_forenames_include_the_curated_package() -> None:
    known = known_forenames()
    assert {"jeff", "alexander", "oleksandr", "abigail", "abednego"} <= known
    assert "jfef" not in known


def _lf(rows: list[tuple[int, str, str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["unique_id", "source_code", "dob", "fn", "sex"],
                        orient="row")


def test_a_slip_is_read_as_the_name_its_source_holds() -> None:
    lf = _lf([
        (1, "HMRC-CHB", "2019-11-03", "jeff", "M"),
        (2, "HMRC-CHB", "2019-11-03", "jfef", "M"),
        (3, "HMRC-CHB", "2019-11-04", "jfef", "M"),  # not the same day: left as it is
        (4, "NHS-PDS", "2019-11-03", "sopiha", "F"),  # no name of its source that day
    ])
    assert slip_forenames(lf).to_list() == ["jeff", "jfef", "jfef", "sopiha"]
    lf2 = lf.filter(pl.col("unique_id") != 3)
    assert slip_forenames(lf2).to_list() == ["jeff", "jeff", "sopiha"]


def test_a_slip_between_two_names_or_of_the_other_sex_is_left_alone() -> None:
    lf = _lf([
        (1, "HMRC-CHB", "2019-11-03", "paige", "F"),
        (2, "HMRC-CHB", "2019-11-03", "paige", "F"),
        (3, "HMRC-CHB", "2019-11-03", "pqige", "M"),
    ])
    assert slip_forenames(lf).to_list() == ["paige", "paige", "pqige"]


def test_a_dedupe_file_holding_a_child_twice_under_a_slip_links_it(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [
        record(1, source_code="HMRC-CHB", given_name="Jeff", sex="M"),
        record(2, source_code="HMRC-CHB", given_name="Jfef", sex="M"),
        record(3, source_code="NHS-PDS", given_name="Jeff", sex="M"),
    ]
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[1] == c[2] == c[3]


def test_twins_amelia_and_amelie_in_one_file_stay_apart(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [
        record(1, source_code="HMRC-CHB", given_name="Amelia"),
        record(2, source_code="HMRC-CHB", given_name="Amelia"),
        record(3, source_code="HMRC-CHB", given_name="Amelie"),
    ]
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[3] not in (c[1], c[2])


def test_one_middle_name_reads_any_slip_of_the_forename() -> None:
    """The same full middle name on both records of one source and date: the source's own
    second record, whatever the slip (a doubled consonant, a vowel for a vowel, the last
    letter); an initial, another middle name or none leaves the slip rules as they were."""
    lf = pl.DataFrame([
        (1, "HMRC-CHB", "2019-11-03", "stanley", "M", "robin"),
        (2, "HMRC-CHB", "2019-11-03", "stanlley", "M", "robin"),  # doubled consonant
        (3, "HMRC-CHB", "2018-01-31", "daniel", "M", "colonel"),
        (4, "HMRC-CHB", "2018-01-31", "danuel", "M", "colonel"),  # a vowel for a vowel
        (5, "HMRC-CHB", "2016-06-16", "hana", "F", "grace"),
        (6, "HMRC-CHB", "2016-06-16", "hanna", "F", "ruby"),  # twins: other middle names
        (7, "HMRC-CHB", "2015-04-12", "edna", "F", "g"),
        (8, "HMRC-CHB", "2015-04-12", "edno", "F", "g"),  # an initial is no evidence
        (9, "HMRC-CHB", "2014-01-16", "louise", "F", None),
        (10, "HMRC-CHB", "2014-01-16", "louisc", "F", None),  # no middle name: as before
    ], schema=["unique_id", "source_code", "dob", "fn", "sex", "fn_mid"], orient="row")
    assert slip_forenames(lf).to_list() == [
        "stanley", "stanley", "daniel", "daniel", "hana", "hanna", "edna", "edno",
        "louise", "louisc"]


def test_a_slip_beside_a_name_two_other_sources_hold_that_day_is_read() -> None:
    """``Jacck`` (one record) beside ``Jack`` in one source, with two other sources holding
    ``Jack`` that day and none ``Jacck``: a twin would be held by them too. One other source
    is not enough, nor is it when another name one slip away is held that day (``Hannah``
    elsewhere makes ``Hanna`` either twin's)."""
    lf = pl.DataFrame([
        (1, "HMRC-CHB", "2026-08-06", "jack", "M"),
        (2, "HMRC-CHB", "2026-08-06", "jacck", "M"),
        (3, "GRO-BIRTHS", "2026-08-06", "jack", "M"),
        (4, "NHS-PDS", "2026-08-06", "jack", "M"),
        (5, "HMRC-CHB", "2019-11-03", "seth", "M"),
        (6, "HMRC-CHB", "2019-11-03", "setth", "M"),
        (7, "NHS-PDS", "2019-11-03", "seth", "M"),  # one other source only
        (8, "HMRC-CHB", "2016-06-16", "hana", "F"),
        (9, "HMRC-CHB", "2016-06-16", "hanna", "F"),
        (10, "GRO-BIRTHS", "2016-06-16", "hana", "F"),
        (11, "NHS-PDS", "2016-06-16", "hana", "F"),
        (12, "NHS-PDS", "2016-06-16", "hannah", "F"),  # the twin, as PDS writes her
    ], schema=["unique_id", "source_code", "dob", "fn", "sex"], orient="row")
    assert slip_forenames(lf).to_list() == [
        "jack", "jack", "jack", "jack", "seth", "setth", "seth",
        "hana", "hanna", "hana", "hana", "hannah"]


def test_twins_with_one_middle_name_and_unlike_forenames_stay_apart(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [  # a dedupe file: the child twice (one middle name, a slip), and the twin
        record(1, source_code="HMRC-CHB", given_name="Stanley", middle_names="Robin",
               sex="M"),
        record(2, source_code="HMRC-CHB", given_name="Stanlley", middle_names="Robin",
               sex="M"),
        record(3, source_code="HMRC-CHB", given_name="Oscar", middle_names="Robin", sex="M"),
    ]
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[1] == c[2]
    assert c[3] != c[1]


def test_a_calling_name_written_first_is_one_child(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [
        record(1, source_code="DFE-CENSUS", given_name="Ibrahim", middle_names="Ismail",
               sex="M"),
        record(2, source_code="HMRC-CHB", given_name="Ismail", middle_names="Ibrahim", sex="M"),
        # twins Rose Molly and Rose Olivia still conflict
        record(3, source_code="DFE-CENSUS", given_name="Rose", middle_names="Molly"),
        record(4, source_code="HMRC-CHB", given_name="Rose", middle_names="Olivia"),
    ]
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[1] == c[2]
    assert c[3] != c[4]


def test_a_name_cut_short_is_no_twin_name(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [
        record(1, source_code="DFE-CENSUS", given_name="Ayomide", family_name="Adesiyan"),
        record(2, source_code="HMRC-CHB", given_name="Mide", family_name="Adesiyan"),
        # a boy Ayomide and a girl Mide born together are twins
        record(5, source_code="DFE-CENSUS", given_name="Ayomide", sex="M", family_name="Hart"),
        record(6, source_code="HMRC-CHB", given_name="Mide", sex="F", family_name="Hart"),
    ]
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[1] == c[2]
    assert c[5] != c[6]


def test_two_rare_names_a_slip_apart_are_read_as_one() -> None:
    lf = _lf([
        (1, "HMRC-CHB", "2019-11-03", "kenley", "M"),
        (2, "HMRC-CHB", "2019-11-03", "knley", "M"),
        (3, "HMRC-CHB", "2019-11-03", "zed", "M"),
    ])
    assert slip_forenames(lf).to_list() == ["kenley", "kenley", "zed"]


def test_two_upns_under_a_slip_of_one_forename_are_one_child(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    # the census holds Willow twice: once with a slip and the UPN of a new school
    rows = [
        record(1, source_code="DFE-CENSUS", given_name="Willow", upn=upn(1)),
        record(2, source_code="DFE-CENSUS", given_name="Willlow", upn=upn(2)),
        record(3, source_code="HMRC-CHB", given_name="Willow"),
        # twins Hana and Hanna with their own UPNs stay apart
        record(4, source_code="DFE-CENSUS", given_name="Hana", upn=upn(3), family_name="Ali"),
        record(5, source_code="DFE-CENSUS", given_name="Hanna", upn=upn(4), family_name="Ali"),
    ]
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[1] == c[2] == c[3]
    assert c[4] != c[5]


def test_other_forenames_on_other_dates_at_one_home_are_two_children(
    default_model: ModelArtefact,
) -> None:
    # a twin with a mistyped year (or a sibling born a year later to the day): the home, the
    # surname and most of the date agree, nothing about the person does
    rows = [
        record(1, source_code="HMRC-CHB", given_name="Jennings", sex="M",
               date_of_birth=date(2017, 10, 20)),
        record(2, source_code="NHS-PDS", given_name="Chaim", sex="M",
               date_of_birth=date(2016, 10, 20)),
    ]
    explained = explain_pair(frame(rows), default_model)
    assert explained.match_probability >= 0.95
    assert "v_person" in explained.vetoes
    cut_short = [record(1, given_name="Ayomide", date_of_birth=date(2017, 10, 20)),
                 record(2, given_name="Mide", date_of_birth=date(2016, 10, 20))]
    assert "v_person" not in explain_pair(frame(cut_short), default_model).vetoes


def test_initials_of_more_middle_names_than_the_other_source_kept_are_one_child(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    # one source wrote both middle names as initials, another kept only the first in full
    rows = [
        record(1, source_code="NHS-PDS", given_name="Jasper", middle_names="V T", sex="M"),
        record(2, source_code="HMRC-CHB", given_name="Jasper", middle_names="Vincent", sex="M"),
        # twins Rose M J and Rose Olivia: the initials begin no name of the other
        record(3, source_code="NHS-PDS", given_name="Rose", middle_names="M J"),
        record(4, source_code="HMRC-CHB", given_name="Rose", middle_names="Olivia"),
    ]
    assert "v_twin" not in explain_pair(frame(rows[:2]), default_model).vetoes
    assert "v_twin" in explain_pair(frame(rows[2:]), default_model).vetoes
    c = _cluster_of(dedupe(frame(rows), default_model, tmp_path).clusters)
    assert c[1] == c[2]
    assert c[3] != c[4]
