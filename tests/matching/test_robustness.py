"""The robustness matrix in small: each synth condition and FEBRL 1-4, linked as
``contactpoint link`` links with no flags (the shipped model, checked for fit).

A fast version of ``benchmarks/bench_robustness.py`` (docs/linkage.md, "Robustness matrix"):
for every condition a population of a thousand or so children is synthesised, linked from
scratch with the shipped model as a new user would, and scored against the exact truth. The
floors: no twin or triplet pair merged, precision >= the target 0.9995 (or, where the engine
does not reach it yet, what it measured less a small margin), and recall no lower than what the
engine measured when the test was written (``MEASURED``) less the margin. The floors are meant
to rise as the engine improves: raise them with the measured value.
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
PRECISION_TARGET = 0.9995
MARGIN = 0.003

# condition -> (children, precision, recall) measured through the no-flags path (the shipped
# model, checked for fit on the population: ``dedupe(..., fit_dir=...)``, what ``contactpoint
# link`` does) after the engine changes for issue 18. Before them (commit 8061711): initials
# R 0.905 / P 0.9968, within-source duplicates R 0.968, name origins R 0.967, all R 0.846,
# address churn P 0.9984. Then (keying slips, names in another order, names cut short, the
# no-person-evidence veto on other dates, cross-language name variants): within-source
# duplicates 0.97780 -> 0.98184, name origins 0.96661 -> 0.98605, typos 0.99037 -> 0.99247,
# address churn 0.99717 -> 0.99758, dedupe-only P 0.98784 -> 0.99332 and R 0.64229 ->
# 0.88142, many sources 0.99450 -> 0.99604, all 0.92704 -> 0.93996. Then (twins told apart
# alike by two sources, initials of more middle names than the other source kept): baseline
# 0.99669 -> 0.99834, initials 0.99412 -> 0.99580, within-source duplicates 0.98184 -> 0.98265,
# two NHS numbers 0.99112 -> 0.99281, name origins 0.98605 -> 0.99070, typos 0.99247 -> 0.99414,
# missing DOB parts 0.99665 -> 1.0, address churn 0.99758 -> 0.99838, dedupe-only P 0.99332 ->
# 0.99338 and R 0.88142 -> 0.88933, many sources 0.99604 -> 0.99758, all 0.93996 -> 0.94267.
# Then (a name veto moot where the merge already equates the names, exactly, by a middle
# name, by a variant or as scanned; a slip made twice read; an identifier keyed on a
# sibling's record vetoed):
# initials 0.99580 -> 0.99748, two NHS numbers 0.99281 -> 0.99493, name origins 0.99070 ->
# 0.99704, many sources 0.99758 -> 0.99824, all 0.94267 -> 0.96185; precision 1.0 in every
# condition but dedupe-only, so the precision floor is the target itself, 0.9995.
# Then (a slip of any kind read where more than the forename says one child: the same full
# middle name, or two other sources holding the name that day and none the slip):
# within-source duplicates 0.98265 -> 0.98386, typos 0.99414 -> 0.99581, dedupe-only P
# 0.99338 -> 0.99352 and R 0.88933 -> 0.90909.
# Precision holds at the target where it is met; dedupe-only (one
# children's file, duplicates and twins alike, no identifier to tell them apart) stays below it
# and below the recall floor for the reason in docs/linkage.md. Raise both as the engine
# improves.
MEASURED: dict[str, tuple[int, float, float]] = {
    "baseline": (1000, 1.00000, 0.99834),
    "initials": (1000, 1.00000, 0.99748),
    "within_source_duplicates": (1000, 1.00000, 0.98386),
    "two_nhs_numbers": (1000, 1.00000, 0.99493),
    "name_origins": (1000, 1.00000, 0.99704),
    "typos_x3": (1000, 1.00000, 0.99581),
    "missing_dob_parts": (1000, 1.00000, 1.00000),
    "address_churn": (1000, 1.00000, 0.99838),
    "dedupe_only": (1500, 0.99352, 0.90909),
    "many_sources": (1000, 1.00000, 0.99824),
    "all": (1000, 1.00000, 0.96185),
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
    result = dedupe(records, default_model, tmp_path / "work", fit_dir=tmp_path / "fitted")
    m = pairwise_metrics(result.clusters, truth, twins)
    assert m.twins_merged == 0, m
    # the target itself where the engine meets it, else what it measured less the margin
    floor = PRECISION_TARGET if precision >= PRECISION_TARGET else precision - MARGIN
    assert m.precision >= floor, m
    assert m.recall >= recall - MARGIN, m


# FEBRL data set -> (precision, recall) measured through the no-flags path: the first run
# finds no households and no multiple births (FEBRL 1-3 are dedupe files, whose duplicates
# give no evidence; the ages decide: adults) and trains a model on the data (FEBRL 1-3: one
# file to deduplicate; 4: two files to link). Before issue 18 the shipped model scored recall
# 0.614, 0.528, 0.423 and 0.818.
FEBRL_MEASURED: dict[int, tuple[float, float]] = {
    1: (1.00000, 1.00000),
    2: (1.00000, 0.99845),
    3: (1.00000, 0.99908),
    4: (1.00000, 0.99800),
}


@pytest.mark.parametrize("number", list(FEBRL_MEASURED))
def test_the_shipped_model_on_febrl(
    number: int, linkage_data: object, default_model: ModelArtefact, tmp_path: Path,
) -> None:
    precision, recall = FEBRL_MEASURED[number]
    records, truth = linkage_data.febrl(number)  # type: ignore[attr-defined]
    result = dedupe(records, default_model, tmp_path / "work", fit_dir=tmp_path / "fitted")
    m = pairwise_metrics(result.clusters, truth)
    assert m.precision >= min(PRECISION_TARGET, precision - MARGIN), m
    assert m.recall >= recall - MARGIN, m
