"""The confidence bands: one declaration, read the same by the JSON and the pages."""

from __future__ import annotations

import pytest

from contactpoint.domain.confidence import BANDS, ConfidenceBand, band, in_words


@pytest.mark.parametrize(("confidence", "expected"), [
    (1.0, ConfidenceBand.VERY_LIKELY), (0.95, ConfidenceBand.VERY_LIKELY),
    (0.949, ConfidenceBand.VERY_LIKELY),  # reads 0.95: the words agree with the number
    (0.944, ConfidenceBand.LIKELY), (0.80, ConfidenceBand.LIKELY),
    (0.79, ConfidenceBand.POSSIBLE), (0.50, ConfidenceBand.POSSIBLE),
    (0.49, ConfidenceBand.UNLIKELY), (0.0, ConfidenceBand.UNLIKELY),
    (-0.2, ConfidenceBand.UNLIKELY),
])
def test_bands(confidence: float, expected: ConfidenceBand) -> None:
    assert band(confidence) is expected


def test_words_and_number_together() -> None:
    assert in_words(0.9712) == "Very likely (0.97)"
    assert in_words(0.5) == "Possible (0.50)"
    assert in_words(0.031) == "Unlikely (0.03)"


def test_every_band_has_a_floor_best_first() -> None:
    floors = [floor for floor, _ in BANDS]
    assert floors == sorted(floors, reverse=True)
    assert {b for _, b in BANDS} == set(ConfidenceBand)
