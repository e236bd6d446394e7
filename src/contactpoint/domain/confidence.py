"""A search result's confidence in words: the bands, declared once for every face.

The search's confidence is a calibrated probability that the result is the child asked for
(``matching.engine.confidences``). People read words more reliably than decimals, so pages
show both ("Very likely (0.97)") and the JSON result carries the band beside the number.
Pure: no database, no framework.
"""

from __future__ import annotations

from enum import StrEnum


class ConfidenceBand(StrEnum):
    VERY_LIKELY = "very_likely"
    LIKELY = "likely"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    ConfidenceBand.VERY_LIKELY: "Very likely",
    ConfidenceBand.LIKELY: "Likely",
    ConfidenceBand.POSSIBLE: "Possible",
    ConfidenceBand.UNLIKELY: "Unlikely",
}

# The lower bound of each band, best first (a confidence at a bound is in that band).
BANDS: tuple[tuple[float, ConfidenceBand], ...] = (
    (0.95, ConfidenceBand.VERY_LIKELY),
    (0.80, ConfidenceBand.LIKELY),
    (0.50, ConfidenceBand.POSSIBLE),
    (0.0, ConfidenceBand.UNLIKELY),
)


def band(confidence: float) -> ConfidenceBand:
    """The band of a confidence in 0..1, judged on the two places shown (0.949 reads 0.95,
    so it is "Very likely": the words never disagree with the number beside them)."""
    shown = round(confidence, 2)
    for floor, found in BANDS:
        if shown >= floor:
            return found
    return ConfidenceBand.UNLIKELY


def in_words(confidence: float) -> str:
    """``"Very likely (0.97)"``: the band, then the number to two places."""
    return f"{band(confidence).words} ({confidence:.2f})"


__all__ = ["BANDS", "ConfidenceBand", "band", "in_words"]
