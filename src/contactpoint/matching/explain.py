"""Why the model scored a pair as it did: each comparison's level and match weight (Splink's
waterfall), from our own artefact, and the vetoes that apply. What a reviewer needs to decide.

Splink scores the pair (``score_pair``) with the model's own comparisons; each comparison's
level is read back from its gamma and named by its label, and its weight is log2(m/u) from the
artefact. Term-frequency adjustments are left out (they depend on the whole population, which
a single pair does not carry): the weights here are the model's for a name of average
frequency, and the item's stored probability (from its link run) is shown beside them.
"""

from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.frame import conform
from contactpoint.matching.normalise import prepare
from contactpoint.matching.splinkdb import connect, fetch, linker_for, load_table

# the prepared values each comparison looks at, shown beside its level
_SHOWN: dict[str, tuple[str, ...]] = {
    "forename": ("fn", "fn_mid"), "surname": ("sn",), "dob": ("dob",), "sex": ("sex",),
    "household": ("pc", "addr_num", "addr_street", "town"), "postcode": ("pc", "addr3"),
    "house_number": ("addr_num",), "street": ("addr_street",), "town": ("town",),
    "carers": ("carers",), "nhs": ("nhs",), "upn": ("upn",),
}


@dataclass(frozen=True)
class ComparisonEvidence:
    comparison: str
    level: str  # the level's label; "null" when either side lacks the value
    match_weight: float  # log2(m/u); 0 for the null level
    left: str | None
    right: str | None


@dataclass(frozen=True)
class PairExplanation:
    prior_weight: float  # log2 of the prior odds that two random records match
    comparisons: tuple[ComparisonEvidence, ...]
    match_weight: float  # prior + the comparisons' weights
    match_probability: float
    vetoes: tuple[str, ...]  # which vetoes hold for the pair (never linked when any does)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prior_weight": round(self.prior_weight, 3),
            "comparisons": [
                {"comparison": c.comparison, "level": c.level,
                 "match_weight": round(c.match_weight, 3), "left": c.left, "right": c.right}
                for c in self.comparisons
            ],
            "match_weight": round(self.match_weight, 3),
            "match_probability": self.match_probability,
            "vetoes": list(self.vetoes),
        }


def _levels(comparison: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """gamma -> level (the null level is gamma -1)."""
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    out = {len(levels) - 1 - i: lv for i, lv in enumerate(levels)}
    out[-1] = {"label_for_charts": "null"}
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def explain_pair(records: pl.DataFrame, model: ModelArtefact) -> PairExplanation:
    """The waterfall for a pair: ``records`` is a record frame of exactly two rows."""
    from contactpoint.matching.scoring import veto_select

    frame = conform(records)
    if frame.height != 2:
        raise ValueError("explain_pair takes exactly two records")
    lf = prepare(frame)
    settings = copy.deepcopy(model.splink_settings)
    for comp in settings["comparisons"]:  # the model's weights for a name of average frequency
        for level in comp["comparison_levels"]:
            level.pop("tf_adjustment_column", None)
            level.pop("tf_adjustment_weight", None)
    with tempfile.TemporaryDirectory(prefix="cp-explain-") as tmp:
        con = connect(Path(tmp))
        try:
            load_table(con, "lf", lf)
            linker, _, _ = linker_for(con, ["lf"], settings)
            left, right = lf.to_dicts()
            scored = linker.inference.score_pair(left, right)
            row = fetch(con, f"SELECT * FROM {scored.physical_name}").to_dicts()[0]  # noqa: S608 - Splink's own table name  # nosec B608
            vetoes = fetch(con, f"SELECT * FROM ({veto_select(scored.physical_name, model.rules.household_vetoes, settings)})").to_dicts()[0]  # noqa: E501, S608 - internal names only  # nosec B608
        finally:
            con.close()
    evidence = []
    for comp in settings["comparisons"]:
        name = comp["output_column_name"]
        level = _levels(comp)[int(row[f"gamma_{name}"])]
        weight = 0.0
        if "m_probability" in level:
            weight = math.log2(level["m_probability"] / level["u_probability"])
        cols = _SHOWN.get(name, ())
        evidence.append(ComparisonEvidence(
            name, str(level.get("label_for_charts")), weight,
            " / ".join(t for c in cols if (t := _text(left.get(c)))) or None,
            " / ".join(t for c in cols if (t := _text(right.get(c)))) or None,
        ))
    lam = float(settings["probability_two_random_records_match"])
    prior = math.log2(lam / (1 - lam))
    total = prior + sum(e.match_weight for e in evidence)
    held = tuple(name for name in ("v_nhs", "v_upn", "v_twin", "v_person") if vetoes.get(name))
    return PairExplanation(prior, tuple(evidence), total, 1 / (1 + 2 ** -total), held)
