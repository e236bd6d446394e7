"""Accuracy floors on a small fixed synthetic population (the default model, no retraining)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import dedupe, load_model, train
from contactpoint.matching.metrics import pairwise_metrics

PRECISION_FLOOR = 0.999
RECALL_FLOOR = 0.99


def test_default_model_meets_the_floors_and_merges_no_twins(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact,
    tmp_path: Path,
) -> None:
    records, truth, twins = synth_population
    assert len(twins) > 10  # the set really holds multiple births
    result = dedupe(records, default_model, tmp_path)
    m = pairwise_metrics(result.clusters, truth, twins)
    assert m.precision >= PRECISION_FLOOR, m
    assert m.recall >= RECALL_FLOOR, m
    assert m.twins_merged == 0, m
    assert result.clusters.height == records.height
    assert set(result.review_pairs.columns) == {
        "record_key_l", "record_key_r", "match_probability", "reason"
    }


def test_training_writes_a_verifiable_artefact_that_also_meets_the_floors(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    tmp_path: Path,
) -> None:
    records, truth, twins = synth_population
    model = train(records, tmp_path / "model", workdir=tmp_path / "train")
    assert model.path is not None
    assert model.path.name == f"model-{model.version}.json"
    assert (tmp_path / "model" / f"training-report-{model.version}.md").exists()
    assert load_model(model.path).content_hash == model.content_hash
    assert model.rules.household_vetoes  # a children's population: twins detected
    m = pairwise_metrics(dedupe(records, model, tmp_path / "work").clusters, truth, twins)
    assert m.precision >= PRECISION_FLOOR, m
    assert m.recall >= RECALL_FLOOR, m
    assert m.twins_merged == 0, m
