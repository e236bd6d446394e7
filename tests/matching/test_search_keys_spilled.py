"""A first run's search keys come from the preparation scoring already did (issue 18, CPU of a
from-scratch link): the files the engine leaves hold exactly the keys that preparing the
records again gives (``engine.search_keys``, the path they replaced, kept as the oracle)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from contactpoint.matching import scoring
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import SEARCH_KEY_SCHEMA, dedupe, search_keys


def test_spilled_keys_are_the_keys_of_the_records(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    records, _, _ = synth_population
    monkeypatch.setattr(scoring, "_KEY_SLICE", 1000)  # several files, as at national scale
    result = dedupe(records, default_model, tmp_path)
    assert len(result.search_keys) == -(-records.height // 1000)
    assert all(p.parent == tmp_path for p in result.search_keys)  # the run's own directory
    spilled = pl.concat([pl.read_ipc(p) for p in result.search_keys]).sort("record_key")
    again = search_keys(records).sort("record_key")
    assert spilled.schema == pl.Schema(SEARCH_KEY_SCHEMA)
    assert spilled.height == records.height
    assert spilled["fn_names"].null_count() < spilled.height  # keys, not empty columns
    assert spilled.equals(again)
