"""Practitioner search inside the engine: narrow search keys, and one query scorer.

*Search keys* (:func:`search_keys`) are the engine's own comparison keys (:mod:`.normalise`) of
each source record, narrowed to what a practitioner's query can carry: forename keys, surname
keys, date of birth, sex, postcode, town and the two identifiers. The linking service stores
them in an indexed table of their own and retrieves candidates from it.

*Scoring* (:class:`QueryScorer`) ranks candidates with the linkage model's OWN comparisons and
m/u weights (one scorer, not two): every comparison level's ``sql_condition`` of the model
artefact (written over ``<col>_l`` / ``<col>_r``, the text Splink runs in DuckDB) is compiled
to a Python function of the query row (``_l``) and a candidate key row (``_r``) by
:mod:`.sqlcond` (proved equal to DuckDB level by level in the tests); each comparison
contributes ``log2(m/u)`` of the level it lands on, null levels 0.

*Ties* (:func:`indistinguishable`): children whose records agree on every field the query
carries (twins, and a query without a forename) cannot be told apart by it; search ties them.

A query is a *partial record*. Comparisons whose query fields are absent land on their null
level. Levels the query can never reach because it cannot carry a column (middle names, house
number, street, carers) are folded into the first level below them that a fully agreeing query
of the same shape reaches: their m and u are added to that level's. So "the postcode agrees"
on a query is scored as P(postcode agrees | match) / P(postcode agrees | non-match), summed over
every home-level the model distinguishes, not as the record-pair level "same postcode, other
street" (which is evidence *against* a match when both sides hold a full address).
Term-frequency adjustments are not applied (a query scores exact names at the level's average).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.frame import conform
from contactpoint.matching.model import gamma
from contactpoint.matching.normalise import (
    PLACEHOLDER_FORENAMES,
    _canon_list,
    _metaphone,
    _surname_parts,
    canonical,
    forename_key,
    name_key,
    name_tokens,
    ocr_key,
    prepare,
)
from contactpoint.matching.sqlcond import Expr, Row, compile_condition

# The key columns stored per source record (besides record_key); ``fn_names`` / ``sn_names``
# are lists, stored as space-separated text.
SEARCH_KEY_SCHEMA: dict[str, pl.DataType] = {
    "record_key": pl.Int64(),
    "fn": pl.Utf8(),
    "fn_canon": pl.Utf8(),
    "fn_mp": pl.Utf8(),
    "fn_ocr": pl.Utf8(),
    "fn_names": pl.Utf8(),
    "sn": pl.Utf8(),
    "sn_mp": pl.Utf8(),
    "sn_ocr": pl.Utf8(),
    "sn_names": pl.Utf8(),
    "sn_former": pl.Utf8(),
    "dob": pl.Utf8(),
    "sex": pl.Utf8(),
    "pc": pl.Utf8(),
    "pc_sector": pl.Utf8(),
    "pc_district": pl.Utf8(),
    "town": pl.Utf8(),
    "nhs": pl.Utf8(),
    "upn": pl.Utf8(),
}
KEY_COLUMNS: tuple[str, ...] = tuple(c for c in SEARCH_KEY_SCHEMA if c != "record_key")
LIST_COLUMNS = frozenset({"fn_names", "sn_names", "carers"})

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


def search_keys(records: pl.DataFrame) -> pl.DataFrame:
    """Record frame -> :data:`SEARCH_KEY_SCHEMA` rows, one per record (the engine's own keys)."""
    if records.height == 0:
        return pl.DataFrame(schema=SEARCH_KEY_SCHEMA)
    return keys_of_prepared(prepare(conform(records)))


def keys_of_prepared(prepared: pl.DataFrame) -> pl.DataFrame:
    """:func:`.normalise.prepare`'s output -> :data:`SEARCH_KEY_SCHEMA` rows (a link run that
    has just prepared its records for matching need not prepare them again for search)."""
    if prepared.height == 0:
        return pl.DataFrame(schema=SEARCH_KEY_SCHEMA)
    joined = {c: pl.col(c).list.join(" ") for c in ("fn_names", "sn_names")}
    out = prepared.select(
        pl.col("unique_id").alias("record_key"),
        *[
            (joined[c] if c in joined else pl.col(c)).alias(c)
            for c in KEY_COLUMNS
        ],
    )
    return out.with_columns(
        pl.when(pl.col(c).str.len_chars() > 0).then(pl.col(c)).alias(c)
        for c in ("fn_names", "sn_names")
    ).cast(SEARCH_KEY_SCHEMA)  # type: ignore[arg-type]


def normalise_postcode(value: str | None) -> tuple[str | None, str | None]:
    """A practitioner's postcode -> (full postcode ``"LS6 2AB"`` or None, district ``"LS6"``).

    ``"ls62ab"`` -> ``("LS6 2AB", "LS6")``; ``"LS6"`` -> ``(None, "LS6")``; anything else ->
    ``(None, None)``."""
    if not value:
        return None, None
    compact = re.sub(r"\s+", "", value).upper()
    if m := _POSTCODE.match(compact):
        return f"{m.group(1)} {m.group(2)}", m.group(1)
    if _DISTRICT.match(compact):
        return None, compact
    return None, None


@dataclass(frozen=True)
class QueryRecord:
    """What a practitioner typed, as a partial record (every field optional)."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None  # 'M' / 'F'
    postcode: str | None = None  # full or district
    town: str | None = None
    nhs_number: str | None = None
    upn: str | None = None


def query_keys(query: QueryRecord) -> dict[str, Any]:
    """The query's keys, normalised exactly as :func:`.normalise.prepare` normalises records
    (the same functions, applied to one row without a frame: a search pays microseconds)."""
    pc, district = normalise_postcode(query.postcode)
    fn = forename_key(query.given_name)
    if fn is None and query.given_name:  # "Baby Katelyn": the first name that is not a placeholder
        fn = next((t for t in name_tokens(query.given_name)
                   if t not in PLACEHOLDER_FORENAMES), None)
    sn = name_key(query.family_name)
    fn_names: list[str] | None = None
    if query.given_name:
        first = forename_key(query.given_name.split(" ")[0])
        fn_names = _canon_list(
            [t for t in name_tokens(query.given_name) if t not in PLACEHOLDER_FORENAMES]
            + ([first] if first else [])) or None
    sn_names = _surname_parts(query.family_name) if query.family_name else None
    town = re.sub(r"[^a-z]+", "", query.town.lower()) if query.town else None
    return {
        "fn": fn,
        "fn_canon": canonical(fn),
        "fn_mp": _metaphone(fn),
        "fn_ocr": ocr_key(fn),
        "fn_names": fn_names,
        "sn": sn,
        "sn_mp": _metaphone(sn),
        "sn_ocr": ocr_key(sn),
        "sn_names": sn_names or None,
        "sn_former": None,
        "dob": query.date_of_birth.isoformat() if query.date_of_birth else None,
        "sex": query.sex if query.sex in ("M", "F") else None,
        "pc": pc,
        "pc_sector": pc[:-2] if pc else None,
        "pc_district": district,
        "town": town or None,
        "nhs": query.nhs_number,
        "upn": query.upn,
    }


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    condition: str
    gamma: int  # Splink's numbering: -1 null, then n-1 … 0 from the top
    is_null: bool
    is_else: bool
    m: float
    u: float
    test: Expr | None  # the compiled condition (None for ELSE)
    columns: frozenset[str]


@dataclass(frozen=True)
class _Comparison:
    name: str
    levels: tuple[_Level, ...]


def _compiled(sql: str) -> tuple[Expr | None, frozenset[str]]:
    if sql.strip().upper() == "ELSE":
        return None, frozenset()
    return compile_condition(sql)


def _comparisons(model: ModelArtefact) -> tuple[_Comparison, ...]:
    out = []
    for comp in model.splink_settings["comparisons"]:
        raw = comp["comparison_levels"]
        non_null = [lv for lv in raw if not lv.get("is_null_level")]
        levels = []
        rank = len(non_null) - 1
        for lv in raw:
            test, cols = _compiled(lv["sql_condition"])
            if lv.get("is_null_level"):
                levels.append(_Level(lv["sql_condition"], -1, True, False, 1.0, 1.0, test, cols))
                continue
            m = float(lv.get("m_probability") or 1e-9)
            u = float(lv.get("u_probability") or 1e-9)
            levels.append(_Level(lv["sql_condition"], rank, False, test is None, m, u, test,
                                 cols))
            rank -= 1
        out.append(_Comparison(str(comp["output_column_name"]), tuple(levels)))
    return tuple(out)


def _weight(m: float, u: float) -> float:
    return math.log2(max(m, 1e-12) / max(u, 1e-12))


@dataclass(frozen=True)
class _Case:
    """One comparison compiled for a query shape: the first ``whens`` test that holds gives
    the gamma, else ``otherwise`` (None: SQL's NULL, weight 0)."""

    name: str
    whens: tuple[tuple[Expr, int], ...]
    otherwise: int | None
    weights: dict[int, float]  # gamma -> log2(m/u) (folded levels included)
    columns: tuple[str, ...]  # the candidate's columns it reads (the memo key)

    def gamma(self, query: Row, cand: Row) -> int | None:
        for test, g in self.whens:
            if test(query, cand):
                return g
        return self.otherwise


@dataclass(frozen=True)
class ScoredCandidates:
    """Per source record: the summed weight, each comparison's gamma, and ``vetoed``: the
    linkage vetoes read for a query. The query's forename disagrees with the record's on every
    name level (the twin signal: a sibling born the same day shares surname, date of birth and
    home, never the forename), or its NHS number or UPN differs from the record's."""

    frame: pl.DataFrame  # record_key, weight, vetoed, gamma_<comparison>…


@dataclass(frozen=True)
class Scored:
    """One candidate row's score: the summed weight, the veto, each comparison's gamma."""

    weight: float
    vetoed: bool
    gammas: tuple[int | None, ...]


class QueryScorer:
    """The model's comparisons compiled for queries of each shape (which fields are present).

    Each level's ``sql_condition`` is compiled to Python once (:mod:`.sqlcond`; the same text
    Splink runs in DuckDB, proved equal level by level in the tests); a search scores its few
    hundred candidates at most without a database statement. Thread-safe (plans are
    immutable; a race builds one twice)."""

    def __init__(self, model: ModelArtefact) -> None:
        self.model = model
        self.version = model.version
        self.comparisons = _comparisons(model)
        self.names = tuple(c.name for c in self.comparisons)
        self.forename_else = gamma(model.splink_settings, "forename", "else")
        cols: set[str] = set()
        for comp in self.comparisons:
            for lv in comp.levels:
                cols |= lv.columns
        self.columns = tuple(sorted(cols))
        self._plans: dict[frozenset[str], tuple[_Case | None, ...]] = {}
        self._lock = threading.Lock()

    def _reachable(self, present: frozenset[str]) -> dict[str, list[tuple[bool, bool]]]:
        """For each level of each comparison: (is it TRUE for a query of this shape that agrees
        on everything it carries, can it be reached at all). A level that is not TRUE under
        that probe and needs a column the query never carries (middle names, street, carers)
        can never be reached: it is folded downwards."""
        probe = {c: self._probe_value(c, present) for c in self.columns}
        out: dict[str, list[tuple[bool, bool]]] = {}
        for comp in self.comparisons:
            flags = []
            for lv in comp.levels:
                if lv.test is None:
                    flags.append((True, True))
                    continue
                true = bool(lv.test(probe, probe))
                needs_missing = bool(lv.columns - present)
                flags.append((true, true or not needs_missing))
            out[comp.name] = flags
        return out

    @staticmethod
    def _probe_value(col: str, present: frozenset[str]) -> Any:
        if col not in present:
            return None
        if col in LIST_COLUMNS:
            return ["probe"]
        if col == "dob":
            return "2015-03-04"
        return "probe"

    def _case(
        self, comp: _Comparison, flags: list[tuple[bool, bool]], present: frozenset[str]
    ) -> _Case | None:
        """One comparison for a query shape; None: the query carries none of its fields
        (always null)."""
        pairs = list(zip(comp.levels, flags, strict=True))
        null_true = any(true for lv, (true, _) in pairs if lv.is_null)
        agreeing = [lv for lv, (_, reach) in pairs if reach and not lv.is_null and not lv.is_else]
        if null_true and not agreeing:
            return None
        # A null level written for full records ("no postcode, street, town or carers") also
        # holds for a query carrying only a district: then "null" means the candidate lacks
        # every field the query carries for this comparison, tried before the disagreement.
        carried = sorted(set().union(*(lv.columns for lv in agreeing)) & present)
        late = ([" AND ".join(f"{c}_r IS NULL" for c in carried) or "FALSE"]
                if null_true else [])
        weights: dict[int, float] = {-1: 0.0}
        whens: list[tuple[Expr, int]] = []
        otherwise: int | None = None
        carry_m = carry_u = 0.0
        for lv, (_, reach) in pairs:
            if lv.is_null:
                if not null_true and lv.test is not None:  # the candidate's side may be null
                    whens.append((lv.test, -1))
                continue
            if not reach and not lv.is_else:  # never reached by this shape: fold it downwards
                carry_m += lv.m
                carry_u += lv.u
                continue
            if lv.is_else:  # disagreement is its own evidence: nothing folds into it
                carry_m = carry_u = 0.0
                whens.extend((compile_condition(cond)[0], -1) for cond in late)
            weights[lv.gamma] = _weight(lv.m + carry_m, lv.u + carry_u)
            carry_m = carry_u = 0.0
            if lv.is_else:
                otherwise = lv.gamma
                break
            assert lv.test is not None
            whens.append((lv.test, lv.gamma))
        used = set().union(*(lv.columns for lv in comp.levels)) | set(carried)
        return _Case(comp.name, tuple(whens), otherwise, weights,
                     tuple(sorted(c for c in used if c in SEARCH_KEY_SCHEMA)))

    def _plan(self, present: frozenset[str]) -> tuple[_Case | None, ...]:
        with self._lock:
            plan = self._plans.get(present)
        if plan is not None:
            return plan
        reach = self._reachable(present)
        plan = tuple(self._case(comp, reach[comp.name], present) for comp in self.comparisons)
        with self._lock:
            self._plans[present] = plan
        return plan

    def score_rows(
        self, query: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]
    ) -> list[Scored]:
        """Score candidate key rows (:data:`SEARCH_KEY_SCHEMA` columns, list columns as
        space-separated text as stored; extra keys ignored), in their order."""
        present = frozenset(k for k, v in query.items() if v is not None and k in KEY_COLUMNS)
        plan = self._plan(present)
        left = {c: query.get(c) if c in present else None for c in SEARCH_KEY_SCHEMA}
        memo: list[dict[tuple[Any, ...], int | None]] = [{} for _ in plan]
        veto_at = self._veto_checks(query)
        out: list[Scored] = []
        for row in candidates:
            right: dict[str, Any] | None = None
            gammas: list[int | None] = []
            weight = 0.0
            for case, seen in zip(plan, memo, strict=True):
                if case is None:
                    gammas.append(-1)
                    continue
                key = tuple(row.get(c) for c in case.columns)  # stored text: hashable
                if key in seen:
                    g = seen[key]
                else:
                    right = right if right is not None else _right(row)
                    g = seen[key] = case.gamma(left, right)
                gammas.append(g)
                weight += case.weights.get(g, 0.0) if g is not None else 0.0
            vetoed = any(gammas[i] == g for i, g in veto_at)
            out.append(Scored(weight, vetoed, tuple(gammas)))
        return out

    def _veto_checks(self, query: Mapping[str, Any]) -> list[tuple[int, int]]:
        """(comparison index, gamma) pairs any one of which vetoes a candidate for a query."""
        idx = {n: i for i, n in enumerate(self.names)}
        checks = [(idx[ident], 0) for ident in ("nhs", "upn") if ident in idx]
        if query.get("fn") is not None and "forename" in idx:
            checks.append((idx["forename"], self.forename_else))
        return checks

    def score(self, query: Mapping[str, Any], candidates: pl.DataFrame) -> ScoredCandidates:
        """Score candidate key rows (:data:`SEARCH_KEY_SCHEMA`, extra columns ignored)."""
        gamma_cols = {f"gamma_{c.name}": pl.Int64() for c in self.comparisons}
        schema = {"record_key": pl.Int64(), "weight": pl.Float64(), **gamma_cols,
                  "vetoed": pl.Boolean()}
        rows = candidates.select(list(SEARCH_KEY_SCHEMA)).to_dicts()
        scored = self.score_rows(query, rows)
        out = [(r["record_key"], s.weight, *s.gammas, s.vetoed)
               for r, s in zip(rows, scored, strict=True)]
        return ScoredCandidates(pl.DataFrame(out, schema=schema, orient="row"))


def _right(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored key row as the conditions read it: list columns split (``string_split``)."""
    out = dict(row)
    for col in LIST_COLUMNS:
        value = out.get(col)
        if isinstance(value, str):
            out[col] = value.split(" ")
    return out


_SCORERS: dict[str, QueryScorer] = {}
_SCORERS_LOCK = threading.Lock()


def scorer(model: ModelArtefact) -> QueryScorer:
    """The (cached) query scorer of a model artefact."""
    key = model.content_hash or model.version
    with _SCORERS_LOCK:
        found = _SCORERS.get(key)
        if found is None:
            if len(_SCORERS) >= 4:
                _SCORERS.clear()
            found = _SCORERS[key] = QueryScorer(model)
        return found


# --- children a query cannot tell apart -------------------------------------------------------

# What a query can say about a child, one key per field a practitioner types (the derived keys,
# fn_canon, sn_mp and so on, only restate these).
IDENTITY_COLUMNS = ("fn", "sn", "dob", "sex", "pc", "pc_district", "town", "nhs", "upn")


def identity_columns(query: Mapping[str, Any]) -> tuple[str, ...]:
    """The key columns a query carries, as it identifies a child (a full postcode stands for
    its district)."""
    cols = [c for c in IDENTITY_COLUMNS if query.get(c) is not None]
    if "pc" in cols:
        cols.remove("pc_district")
    return tuple(cols)


def indistinguishable(
    query: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]
) -> dict[int, int]:
    """``child_key`` -> the smallest ``child_key`` of the children this query cannot tell it
    apart from. Two children are indistinguishable when a record of one and a record of the
    other hold the same values in every field the query carries (twins and a query without a
    forename: same family name, date of birth and home). Whatever separates their scores
    then is which sources happen to hold which record, not which child was asked for; the
    search ties them (docs/search.md)."""
    cols = identity_columns(query)
    parent: dict[int, int] = {}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    first: dict[tuple[Any, ...], int] = {}
    for row in candidates:
        key = int(row["child_key"])
        parent.setdefault(key, key)
        sig = tuple(row.get(c) for c in cols)
        other = first.setdefault(sig, key)
        a, b = root(key), root(other)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {k: root(k) for k in parent}


# --- calibration ----------------------------------------------------------------------------


def confidences(
    weights: Sequence[float], population: int, prior_in_index: float = 0.5
) -> list[float]:
    """Per-child best weights (log2 Bayes factors) -> P(this child is the one asked for).

    The query names one child of ``population`` (or a child not in the index, with probability
    ``1 - prior_in_index``); each child is a priori equally likely. So
    ``P(i) = BF_i * pi / N / ((1 - pi) + sum_j BF_j * pi / N)``: two near-identical children
    share the probability, and a child who is not in the index leaves it with "not here"
    unless a candidate's evidence outweighs one-in-N."""
    if not weights:
        return []
    n = max(1, population)
    log_prior = math.log2(prior_in_index) - math.log2(n)
    logs = [w + log_prior for w in weights]
    absent = math.log2(max(1e-12, 1.0 - prior_in_index))
    top = max([*logs, absent])
    denom = 2.0 ** (absent - top) + sum(2.0 ** (x - top) for x in logs)
    return [2.0 ** (x - top) / denom for x in logs]


__all__ = [
    "KEY_COLUMNS", "SEARCH_KEY_SCHEMA", "QueryRecord", "QueryScorer", "Scored", "ScoredCandidates",
    "confidences", "identity_columns", "indistinguishable", "keys_of_prepared",
    "normalise_postcode", "query_keys", "scorer", "search_keys",
]
