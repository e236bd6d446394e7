"""A first run hands the engine a plan for its records (``pl.scan_ipc`` of a spilled frame), so
that the engine can let go of them while DuckDB scores: the same links and review pairs as the
frame itself, run after run."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import dedupe


def test_a_plan_links_as_the_frame_does_and_review_pairs_do_not_vary(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
    default_model: ModelArtefact, tmp_path: Path,
) -> None:
    records, _, _ = synth_population
    spilled = tmp_path / "records.arrow"
    records.write_ipc(spilled, compression="lz4")

    eager = dedupe(records, default_model, tmp_path / "a")
    lazy = dedupe(pl.scan_ipc(spilled), default_model, tmp_path / "b")

    by_key = ["record_key"]
    assert eager.clusters.sort(by_key).equals(lazy.clusters.sort(by_key))
    pairs = ["record_key_l", "record_key_r"]
    assert eager.review_pairs.height > 0
    # which record pair stands for two clusters is fixed by probability, then keys
    assert eager.review_pairs.sort(pairs).equals(lazy.review_pairs.sort(pairs))
    assert eager.stats["records"] == lazy.stats["records"] == records.height
