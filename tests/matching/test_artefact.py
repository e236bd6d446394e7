"""The model artefact is versioned and content-hashed: a changed byte is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contactpoint.matching.artefact import InvalidModel, read_artefact
from contactpoint.matching.engine import DEFAULT_MODEL_PATH, load_model


def test_default_model_loads_and_verifies() -> None:
    model = load_model()
    assert model.content_hash.startswith("sha256:")
    assert model.rules.link_probability > model.rules.review_probability
    names = {c["output_column_name"] for c in model.splink_settings["comparisons"]}
    assert {"forename", "surname", "dob", "household", "nhs", "upn"} <= names


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    body = json.loads(DEFAULT_MODEL_PATH.read_text())
    body["rules"]["link_probability"] = 0.1
    bad = tmp_path / "model-bad.json"
    bad.write_text(json.dumps(body))
    with pytest.raises(InvalidModel):
        read_artefact(bad)
