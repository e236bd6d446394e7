"""Does a model fit the population in front of it? Decides a first run's model, out of the box.

A model carries two assumptions about its population that training measures from the data
(:mod:`.training`): whether people live in households (then the home is *one* comparison,
otherwise postcode, number, street, town and carers are separate ones), and whether the
population holds multiple births (then the twin vetoes are on). A first link run measures both
on the records it is about to link, with the same evidence training uses, before any pair is
scored. When the shipped model's assumptions match, it is kept; when they do not (FEBRL's
adults with an address each, scored by a model built for children's households), a model is
trained on the data itself, and the run says which it did and why.

Only the cheap measurements are taken (two counts over one self-join each): a first run at a
million children pays a few seconds, not a training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.training import household_evidence

MIN_RECORDS_TO_TRAIN = 2_000  # fewer: u and m cannot be estimated well; keep the shipped model
TWIN_MIN_PAIRS = 3
TWIN_MIN_RATE = 0.002  # within-source twin-pattern pairs per record (as training decides)

# One source holding two records with one date of birth and surname, and forenames that are
# not the same name even roughly: two children born together (the twin pattern training
# counts with the model's forename comparison, here without scoring).
TWIN_SQL = """
SELECT count(*) FROM lf AS l JOIN lf AS r
  ON l.source_code = r.source_code AND l.dob = r.dob AND l.sn = r.sn
  AND l.unique_id < r.unique_id
WHERE l.fn <> r.fn AND l.fn_canon <> r.fn_canon AND l.fn_mp <> r.fn_mp
  AND damerau_levenshtein(l.fn, r.fn) > 1 AND jaro_winkler_similarity(l.fn, r.fn) < 0.85
  AND NOT list_contains(l.fn_names, r.fn_canon) AND NOT list_contains(r.fn_names, l.fn_canon)
"""


@dataclass(frozen=True)
class Fit:
    """``fits``: keep the model. ``reasons``: one sentence each, for the run's summary."""

    fits: bool
    reasons: tuple[str, ...]
    measured: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "reasons": list(self.reasons), "measured": self.measured}


def model_assumes_households(model: ModelArtefact) -> bool:
    return any(c["output_column_name"] == "household"
               for c in model.splink_settings["comparisons"])


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    cur = con.cursor()
    try:
        rows = cur.execute(sql).fetchall()
    finally:
        cur.close()
    return int(rows[0][0]) if rows else 0


def assess(con: duckdb.DuckDBPyConnection, n_records: int, model: ModelArtefact) -> Fit:
    """Measure the population prepared in table ``lf`` and compare with ``model``."""
    if n_records < MIN_RECORDS_TO_TRAIN:
        return Fit(True, (f"{n_records:,} records are too few to estimate a model of their "
                          f"own (at least {MIN_RECORDS_TO_TRAIN:,}): the model is kept",),
                   {"records": n_records})
    households = household_evidence(con, n_records)
    twins = _count(con, TWIN_SQL)
    twin_threshold = max(TWIN_MIN_PAIRS, TWIN_MIN_RATE * n_records)
    has_twins = twins >= twin_threshold
    measured = {"records": n_records, "household_evidence": households,
                "twin_pattern_pairs": twins, "twin_threshold": twin_threshold}
    reasons = []
    assumes = model_assumes_households(model)
    lives = bool(households["household_structure"])
    if assumes != lives:
        reasons.append(
            f"the model {'assumes' if assumes else 'does not assume'} households, but "
            f"{households['within_shared_home_pairs']:,} within-source pairs share a home "
            f"(households from {households['threshold']:,.0f})")
    if model.rules.household_vetoes != has_twins:
        reasons.append(
            f"the model's twin vetoes are {'on' if model.rules.household_vetoes else 'off'}, "
            f"but {twins:,} within-source pairs are born together under different names "
            f"(multiple births from {twin_threshold:,.0f})")
    if reasons:
        return Fit(False, tuple(reasons), measured)
    return Fit(True, ("the population has the households and multiple births the model "
                      "assumes: the model is kept",), measured)
