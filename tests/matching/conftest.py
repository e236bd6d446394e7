"""Fixtures for the linkage engine's tests: a small fixed synthetic population, hand-made twins."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from contactpoint.domain.identifiers import nhs_check_digit
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import load_model
from contactpoint.matching.frame import conform

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SYNTH_CHILDREN = 2000
SYNTH_SEED = 20261125


def nhs(n: int) -> str:
    """The n-th valid NHS number from a fixed base (skips bodies with no check digit)."""
    body = 400_000_000 + n * 7
    while True:
        digits = f"{body:09d}"
        check = nhs_check_digit(digits)
        if check is not None:
            return digits + str(check)
        body += 1


def record(key: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "record_key": key,
        "source_code": "NHS-PDS",
        "given_name": "Amelia",
        "family_name": "Okafor",
        "date_of_birth": date(2016, 3, 14),
        "sex": "F",
        "address_line_1": "12 Juniper Road",
        "town": "Leeds",
        "postcode": "LS6 2AB",
        "carer_names": "Grace Okafor|Daniel Okafor",
    }
    base.update(fields)
    return base


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return conform(pl.DataFrame(rows, infer_schema_length=None))


@pytest.fixture(scope="session")
def default_model() -> ModelArtefact:
    return load_model()


@pytest.fixture(scope="session")
def synth_population(tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]]]:
    """(records, truth, twin pairs) for a fixed 2,000-child synthetic population."""
    out = tmp_path_factory.mktemp("synth")
    exe = Path(sys.executable).with_name("contactpoint")
    subprocess.run(
        [str(exe), "synth", "--children", str(SYNTH_CHILDREN), "--seed", str(SYNTH_SEED),
         "--out", str(out)],
        check=True, capture_output=True,
    )
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from linkage_data import synth_csv, twin_pairs

        records, truth = synth_csv(out)
        yield records, truth, twin_pairs(records, truth)
    finally:
        sys.path.remove(str(BENCHMARKS))
