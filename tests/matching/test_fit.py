"""Out of the box: a first run checks the shipped model's fit and trains one when it does not
fit (FEBRL4's adults, an address each), keeping it for a children's population."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import dedupe
from contactpoint.matching.metrics import pairwise_metrics

from .conftest import BENCHMARKS

FEBRL4_F1_TARGET = 0.998  # targets.md: FEBRL4 through import + link with no flags


def test_a_childrens_population_keeps_the_shipped_model(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact,
    tmp_path: Path,
) -> None:
    records, _truth, _twins = synth_population
    result = dedupe(records, default_model, tmp_path / "work", fit_dir=tmp_path / "models")
    fit = result.stats["model_fit"]
    assert fit["fits"] is True, fit
    assert result.model is None
    assert "kept" in fit["reasons"][0]
    assert not (tmp_path / "models").exists()  # nothing trained, nothing written


@pytest.mark.slow
def test_febrl4_with_no_flags_trains_its_own_model_and_reaches_the_target(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from linkage_data import febrl4
    finally:
        sys.path.remove(str(BENCHMARKS))
    records, truth = febrl4()
    result = dedupe(records, default_model, tmp_path / "work", fit_dir=tmp_path / "models")
    fit = result.stats["model_fit"]
    assert fit["fits"] is False
    assert any("households" in reason for reason in fit["reasons"]), fit
    assert result.model is not None
    assert result.model.path is not None
    assert result.model.path.parent == tmp_path / "models"
    assert fit["model_version"] == result.model.version
    m = pairwise_metrics(result.clusters, truth)
    assert m.f1 >= FEBRL4_F1_TARGET, m


def test_too_few_records_keep_the_model(default_model: ModelArtefact, tmp_path: Path) -> None:
    from .conftest import frame, record

    records = frame([record(1), record(2, given_name="Amelie", date_of_birth=None)][:1])
    result = dedupe(records, default_model, tmp_path / "work", fit_dir=tmp_path / "models")
    assert result.stats["model_fit"]["fits"] is True
    assert "too few" in result.stats["model_fit"]["reasons"][0]


def test_a_small_childrens_load_without_twins_keeps_the_twin_vetoes(
    default_model: ModelArtefact, tmp_path: Path
) -> None:
    """600 children's records with no twin among them: absence of twins in a first load is no
    evidence that none will come, so the twin vetoes stay (the model is kept)."""
    from datetime import date

    from names import FAMILY, GIVEN

    from .conftest import frame, record

    rows = []
    for i in range(300):  # a household each: two siblings, three years apart, two sources
        surname = f"{FAMILY[i % len(FAMILY)]}-{FAMILY[(i // len(FAMILY)) % len(FAMILY)]}"
        for k, born in enumerate((2012, 2015)):
            for src in ("NHS-PDS", "HMRC-CHB"):
                rows.append(record(len(rows) + 1, source_code=src,
                                   given_name=GIVEN[(i + 7 * k) % len(GIVEN)],
                                   family_name=surname, date_of_birth=date(born, 1 + i % 12, 1),
                                   address_line_1=f"{i} Juniper Road", postcode=None))
    result = dedupe(frame(rows), default_model, tmp_path / "work", fit_dir=tmp_path / "models")
    fit = result.stats["model_fit"]
    assert fit["measured"]["twin_pattern_pairs"] == 0
    assert result.model is None or result.model.rules.household_vetoes, fit
