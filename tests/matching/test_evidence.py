"""Evidence, not brittle rules (issue 18): initials, a source's own duplicates, two UPNs, two
NHS numbers, and what goes to review — with every twin guarantee kept."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from contactpoint.domain.linkage import ReviewCause
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import dedupe

from .conftest import frame, nhs, record


def _upn(body: str) -> str:
    from contactpoint.domain.identifiers import upn_check_letter

    return upn_check_letter(body) + body


def _clusters(result: object) -> dict[int, int]:
    c = result.clusters  # type: ignore[attr-defined]
    return dict(zip(c["record_key"], c["cluster_key"], strict=True))


@pytest.mark.parametrize(("short", "full"),
                         [("I", "Iqra Ivy"), ("T", "Thomas"), ("A B", "Ada Beth")])
def test_an_initial_is_the_name_it_abbreviates(
    default_model: ModelArtefact, tmp_path: Path, short: str, full: str
) -> None:
    rows = [record(1, given_name="Jannat", middle_names=full, nhs_number=nhs(1)),
            record(2, source_code="LA-CSC-202", given_name="Jannat", middle_names=short),
            record(3, source_code="HMRC-CHB", given_name="Jannat", middle_names=full)]
    result = dedupe(frame(rows), default_model, tmp_path)
    c = _clusters(result)
    assert c[1] == c[2] == c[3]
    assert result.review_pairs.height == 0


def test_twins_with_other_middle_names_or_initials_stay_apart(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [record(1, given_name="Rose", middle_names="Molly", nhs_number=nhs(1)),
            record(2, given_name="Rose", middle_names="Olivia", nhs_number=nhs(2)),
            record(3, source_code="LA-CSC-202", given_name="Rose", middle_names="O"),
            record(4, source_code="HMRC-CHB", given_name="Rose", middle_names="M")]
    c = _clusters(dedupe(frame(rows), default_model, tmp_path))
    assert c[1] != c[2]
    assert c[3] != c[1]  # O is not Molly
    assert c[4] != c[2]  # M is not Olivia


def test_a_second_upn_after_a_school_move_is_weighed_not_vetoed(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [record(1, nhs_number=nhs(1)),
            record(2, source_code="DFE-CENSUS", upn=_upn("801200000011")),
            record(3, source_code="DFE-CENSUS", upn=_upn("802201500042"),
                   address_line_1="3 Elm Close", postcode="LS7 1AA")]
    c = _clusters(dedupe(frame(rows), default_model, tmp_path))
    assert c[1] == c[2] == c[3]


def test_similar_named_twins_with_their_own_upns_stay_apart(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [record(1, source_code="DFE-CENSUS", given_name="Hana", upn=_upn("801200000011")),
            record(2, source_code="DFE-CENSUS", given_name="Hanna", upn=_upn("801200000012")),
            record(3, given_name="Hana", nhs_number=nhs(1)),
            record(4, given_name="Hanna", nhs_number=nhs(2))]
    c = _clusters(dedupe(frame(rows), default_model, tmp_path))
    assert c[1] != c[2]
    assert c[3] != c[4]


def test_a_sources_own_duplicate_sharing_an_identifier_joins_its_child(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    # one source, one DOB, two spellings: twins — unless the two records share an NHS number
    rows = [record(1, source_code="HMRC-CHB", given_name="Hana", nhs_number=nhs(1)),
            record(2, source_code="HMRC-CHB", given_name="Hanna", nhs_number=nhs(1))]
    c = _clusters(dedupe(frame(rows), default_model, tmp_path))
    assert c[1] == c[2]
    # without an identifier, one source's Muhammad and Mohammed born the same day are twins
    rows = [record(1, source_code="HMRC-CHB", given_name="Muhammad"),
            record(2, source_code="HMRC-CHB", given_name="Mohammed"),
            record(3, given_name="Muhammad", nhs_number=nhs(1)),
            record(4, source_code="DFE-CENSUS", given_name="Mohammed", upn=_upn("801200000011")),
            record(5, source_code="DFE-CENSUS", given_name="Muhammad", upn=_upn("801200000012"))]
    c = _clusters(dedupe(frame(rows), default_model, tmp_path / "2"))
    assert c[1] != c[2]
    assert c[4] != c[5]


def test_two_nhs_numbers_for_one_name_and_date_go_to_review_never_linked(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    rows = [record(1, nhs_number=nhs(1)), record(2, source_code="GRO-BIRTHS", nhs_number=nhs(2))]
    result = dedupe(frame(rows), default_model, tmp_path)
    c = _clusters(result)
    assert c[1] != c[2]
    assert result.review_pairs["reason"].to_list() == [ReviewCause.NHS_CONFLICT]


def test_engine_reasons_are_review_causes(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path,
) -> None:
    records, _, _ = synth_population
    reasons = set(dedupe(records, default_model, tmp_path).review_pairs["reason"].to_list())
    assert reasons <= {c.value for c in ReviewCause}
