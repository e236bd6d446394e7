"""What kind of population is this? Decides a model's assumptions, and a first run's model.

A model carries two assumptions about its population: whether people live in households (then
the home is *one* comparison, otherwise postcode, number, street, town and carers are separate
ones) and whether the population holds multiple births (then the twin vetoes are on, and one
source holding two names on one date of birth is two children). :func:`measure` reads both
from the data, and training (:mod:`.training`) and the first link run use the same reading.

The evidence is within-source pairs: a source that keeps one record per person shows siblings
as two records at one home with different dates of birth, and twins as two records born the
same day under the same surname with names that are not even roughly the same. A source that
holds many records of each person (a dedupe file: FEBRL 1-3, whose duplicates change a
forename outright) fakes both patterns, so a source whose records agree in pairs on forename,
surname and date of birth at more than :data:`DEDUPE_RATE` per record gives no evidence. When no
source gives evidence, the domain decides: a population of children (births within
:data:`CHILDHOOD_YEARS` of each other) lives in households and has multiple births; adults are
assumed to have an address each and no twins among them. A population of children always
keeps the twin vetoes: not seeing twins in a first load is no evidence that none will come.

At a first run (:func:`assess`) the shipped model is kept when the population matches its
assumptions and a model is trained on the population when it does not; the run says which and
why. The measurements are a few counts over self-joins: seconds at a million children.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from contactpoint.matching.artefact import ModelArtefact

MIN_RECORDS_TO_TRAIN = 500  # fewer: u and m cannot be estimated well; keep the shipped model
DEDUPE_RATE = 0.02  # within-source exact name+DOB pairs per record above which a source dedupes
CHILDHOOD_YEARS = 26  # a children's index: birth years spread over 0-18 (25 with consent)
HOUSEHOLD_MIN_PAIRS = 3
HOUSEHOLD_MIN_RATE = 0.01  # within-source pairs sharing a home, different DOB, per record
TWIN_MIN_PAIRS = 3
TWIN_MIN_RATE = 0.002  # within-source twin-pattern pairs per record

_DUPLICATES_SQL = """
SELECT l.source_code, count(*) FROM lf AS l JOIN lf AS r
  ON l.source_code = r.source_code AND l.fn = r.fn AND l.sn = r.sn AND l.dob = r.dob
  AND l.unique_id < r.unique_id
GROUP BY l.source_code
"""
# one source, one home (number, street, and postcode or town), two dates of birth: siblings
_HOUSEHOLD_SQL = """
SELECT count(*) FROM lf AS l JOIN lf AS r
  ON l.source_code = r.source_code AND l.addr_num = r.addr_num
  AND l.addr_street = r.addr_street AND l.unique_id < r.unique_id
WHERE (l.pc = r.pc OR l.town = r.town) AND l.dob <> r.dob AND l.source_code IN ({sources})
"""
# one source, one date of birth and surname, names not even roughly the same: twins
_TWIN_SQL = """
SELECT count(*) FROM lf AS l JOIN lf AS r
  ON l.source_code = r.source_code AND l.dob = r.dob AND l.sn = r.sn
  AND l.unique_id < r.unique_id
WHERE l.fn <> r.fn AND l.fn_canon <> r.fn_canon AND l.fn_mp <> r.fn_mp
  AND damerau_levenshtein(l.fn, r.fn) > 1 AND jaro_winkler_similarity(l.fn, r.fn) < 0.85
  AND NOT list_contains(l.fn_names, r.fn_canon) AND NOT list_contains(r.fn_names, l.fn_canon)
  AND l.source_code IN ({sources})
"""


@dataclass(frozen=True)
class Population:
    """What :func:`measure` read: the two assumptions and the evidence for each."""

    households: bool
    multiple_births: bool
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fit:
    """``fits``: keep the model. ``reasons``: one sentence each, for the run's summary."""

    fits: bool
    reasons: tuple[str, ...]
    measured: dict[str, Any] = field(default_factory=dict)
    population: Population | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "reasons": list(self.reasons), "measured": self.measured}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    cur = con.cursor()
    try:
        return cur.execute(sql).fetchall()
    finally:
        cur.close()


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def measure(con: duckdb.DuckDBPyConnection) -> Population:
    """Read the population prepared in table ``lf`` (see the module's docstring)."""
    per_source = dict(_rows(con, "SELECT source_code, count(*) FROM lf GROUP BY source_code"))
    duplicates = dict(_rows(con, _DUPLICATES_SQL))
    evidence_sources = sorted(s for s, n in per_source.items() if s is not None
                              and duplicates.get(s, 0) <= DEDUPE_RATE * n)
    n = sum(per_source[s] for s in evidence_sources)
    spread = _rows(con, "SELECT quantile_cont(year(CAST(dob AS DATE)), 0.95) - "
                        "quantile_cont(year(CAST(dob AS DATE)), 0.05) FROM lf")[0][0]
    children = spread is not None and float(spread) <= CHILDHOOD_YEARS
    evidence: dict[str, Any] = {
        "records": sum(per_source.values()),
        "dedupe_sources": sorted(s for s in per_source if s is not None
                                 and s not in evidence_sources),
        "evidence_records": n,
        "birth_years_spread_p5_p95": spread,
        "children": children,
    }
    if n == 0:  # every source holds many records of each person: the domain decides
        evidence["decided_by"] = "domain (no source keeps one record per person)"
        return Population(children, children, evidence)
    sources = _quoted(evidence_sources)
    homes = int(_rows(con, _HOUSEHOLD_SQL.format(sources=sources))[0][0])
    twins = int(_rows(con, _TWIN_SQL.format(sources=sources))[0][0])
    home_threshold = max(HOUSEHOLD_MIN_PAIRS, HOUSEHOLD_MIN_RATE * n)
    twin_threshold = max(TWIN_MIN_PAIRS, TWIN_MIN_RATE * n)
    evidence.update({
        "decided_by": "within-source pairs",
        "within_shared_home_pairs": homes, "household_threshold": home_threshold,
        "twin_pattern_pairs": twins, "twin_threshold": twin_threshold,
    })
    # Twins are ~3 % of children: a children's population that shows none has merely not
    # shown them yet (a small first load), and turning the twin vetoes off for good on that
    # would merge the first twins to come. Only adults lose them, on the evidence.
    return Population(homes >= home_threshold, twins >= twin_threshold or children, evidence)


def model_assumes_households(model: ModelArtefact) -> bool:
    return any(c["output_column_name"] == "household"
               for c in model.splink_settings["comparisons"])


def assess(con: duckdb.DuckDBPyConnection, n_records: int, model: ModelArtefact) -> Fit:
    """Measure the population prepared in table ``lf`` and compare with ``model``."""
    if n_records < MIN_RECORDS_TO_TRAIN:
        return Fit(True, (f"{n_records:,} records are too few to estimate a model of their "
                          f"own (at least {MIN_RECORDS_TO_TRAIN:,}): the model is kept",),
                   {"records": n_records})
    population = measure(con)
    ev = population.evidence
    how = ("within-source pairs" if ev["decided_by"] == "within-source pairs"
           else "the ages, no source keeping one record per person")
    reasons = []
    assumes = model_assumes_households(model)
    if assumes != population.households:
        reasons.append(
            f"the model {'assumes' if assumes else 'does not assume'} households, but "
            f"the population {'lives' if population.households else 'does not live'} in "
            f"households (by {how}: {ev.get('within_shared_home_pairs', '-')} sharing a "
            f"home, from {ev.get('household_threshold', '-')})")
    if model.rules.household_vetoes != population.multiple_births:
        reasons.append(
            f"the model's twin vetoes are {'on' if model.rules.household_vetoes else 'off'}, "
            f"but the population {'holds' if population.multiple_births else 'holds no'} "
            f"multiple births (by {how}: {ev.get('twin_pattern_pairs', '-')} born together "
            f"under other names, from {ev.get('twin_threshold', '-')})")
    if reasons:
        return Fit(False, tuple(reasons), ev, population)
    return Fit(True, ("the population has the households and multiple births the model "
                      "assumes: the model is kept",), ev, population)
