"""The robustness matrix in small: each synth condition and FEBRL 1-4, linked with the shipped
model.

A fast version of ``benchmarks/bench_robustness.py`` (docs/linkage.md, "Robustness matrix"):
for every condition a population of a thousand or so children is synthesised, linked from
scratch with the shipped model as a new user would, and scored against the exact truth. The
floors: no twin or triplet pair merged, precision >= 0.999 (or, where the engine does not reach
it yet, what it measured less a small margin), and recall no lower than what the engine measured
when the test was written (``MEASURED``) less the margin. The floors are meant to rise as the
engine improves: raise them with the measured value.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import dedupe
from contactpoint.matching.metrics import pairwise_metrics
from contactpoint.synth.conditions import ALL, CONDITIONS, with_conditions
from contactpoint.synth.config import SynthConfig
from contactpoint.synth.generate import generate

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SEED = 20261206
PRECISION_TARGET = 0.999
MARGIN = 0.003

# condition -> (children, precision, recall) measured with the shipped model on the engine at
# commit 8061711 (before the lead's engine changes for issue 18). Precision is held at the
# target 0.999 where the engine met it; below it (initials, address churn, dedupe-only: the
# engine merges siblings there) the measured value less the margin holds instead until the
# engine is fixed. Recall: the measured value less the margin. Raise both as the engine improves.
MEASURED: dict[str, tuple[int, float, float]] = {
    "baseline": (1000, 1.00000, 0.99586),
    "initials": (1000, 0.99676, 0.90500),
    "within_source_duplicates": (1000, 1.00000, 0.96812),
    "two_nhs_numbers": (1000, 1.00000, 0.99028),
    "name_origins": (1000, 1.00000, 0.96661),
    "typos_x3": (1000, 1.00000, 0.98954),
    "missing_dob_parts": (1000, 1.00000, 0.99623),
    "address_churn": (1000, 0.99838, 0.99717),
    "dedupe_only": (1500, 0.95029, 0.64229),
    "many_sources": (1000, 1.00000, 0.99384),
    "all": (1000, 1.00000, 0.84615),
}


@pytest.fixture(scope="module")
def linkage_data() -> Iterator[object]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import linkage_data

        yield linkage_data
    finally:
        sys.path.remove(str(BENCHMARKS))


def population(linkage_data: object, condition: str, children: int, out: Path,
               ) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]]:
    cfg = SynthConfig(children=children, seed=SEED)
    if condition != "baseline":
        cfg = with_conditions(cfg, ALL if condition == "all" else [condition])
    generate(cfg, out)
    records, truth = linkage_data.synth_csv(out)  # type: ignore[attr-defined]
    twins = linkage_data.birth_pairs(cfg)  # type: ignore[attr-defined]
    return records, truth, twins


def test_every_condition_has_a_floor() -> None:
    assert set(MEASURED) == {"baseline", *CONDITIONS, "all"}


@pytest.mark.parametrize("condition", list(MEASURED))
def test_the_shipped_model_holds_its_floors(
    condition: str, linkage_data: object, default_model: ModelArtefact, tmp_path: Path,
) -> None:
    children, precision, recall = MEASURED[condition]
    records, truth, twins = population(linkage_data, condition, children, tmp_path / "feeds")
    assert records.height > children  # the sources hold the children, some more than once
    result = dedupe(records, default_model, tmp_path / "work")
    m = pairwise_metrics(result.clusters, truth, twins)
    assert m.twins_merged == 0, m
    assert m.precision >= min(PRECISION_TARGET, precision - MARGIN), m
    assert m.recall >= recall - MARGIN, m


# FEBRL data set -> (precision, recall) measured with the shipped model at commit 8061711
# (FEBRL 1-3: one file to deduplicate; 4: two files to link). Default Splink reaches F1
# 0.998-1.000 on all four (docs/linkage.md, "Robustness matrix").
FEBRL_MEASURED: dict[int, tuple[float, float]] = {
    1: (1.00000, 0.61400),
    2: (1.00000, 0.52792),
    3: (1.00000, 0.42261),
    4: (1.00000, 0.81820),
}


@pytest.mark.parametrize("number", list(FEBRL_MEASURED))
def test_the_shipped_model_on_febrl(
    number: int, linkage_data: object, default_model: ModelArtefact, tmp_path: Path,
) -> None:
    precision, recall = FEBRL_MEASURED[number]
    records, truth = linkage_data.febrl(number)  # type: ignore[attr-defined]
    result = dedupe(records, default_model, tmp_path)
    m = pairwise_metrics(result.clusters, truth)
    assert m.precision >= min(PRECISION_TARGET, precision - MARGIN), m
    assert m.recall >= recall - MARGIN, m
