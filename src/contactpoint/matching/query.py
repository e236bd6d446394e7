"""Practitioner search inside the engine: narrow search keys, and one query scorer.

*Search keys* (:func:`search_keys`) are the engine's own comparison keys (:mod:`.normalise`) of
each source record, narrowed to what a practitioner's query can carry: forename keys, surname
keys, date of birth, sex, postcode, town and the two identifiers. The linking service stores
them in an indexed table of their own and retrieves candidates from it.

*Scoring* (:class:`QueryScorer`) ranks candidates with the linkage model's OWN comparisons and
m/u weights (one scorer, not two): every comparison level's ``sql_condition`` of the model
artefact (written over ``<col>_l`` / ``<col>_r``) is compiled into one DuckDB statement over the
candidate key rows (the ``_r`` side) joined with the query row (the ``_l`` side); each
comparison contributes ``log2(m/u)`` of the level it lands on, null levels 0.

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
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import duckdb

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
    prepared = prepare(conform(records))
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

_COLUMN_REF = re.compile(r"\b([a-z][a-z0-9_]*?)_(?:l|r)\b")


@dataclass(frozen=True)
class _Level:
    condition: str
    weight: float  # log2(m/u); 0 for a null level
    gamma: int  # Splink's numbering: -1 null, then n-1 … 0 from the top
    is_null: bool
    m: float
    u: float


@dataclass(frozen=True)
class _Comparison:
    name: str
    levels: tuple[_Level, ...]


def _comparisons(model: ModelArtefact) -> tuple[_Comparison, ...]:
    out = []
    for comp in model.splink_settings["comparisons"]:
        raw = comp["comparison_levels"]
        non_null = [lv for lv in raw if not lv.get("is_null_level")]
        levels = []
        rank = len(non_null) - 1
        for lv in raw:
            if lv.get("is_null_level"):
                levels.append(_Level(lv["sql_condition"], 0.0, -1, True, 1.0, 1.0))
                continue
            m = float(lv.get("m_probability") or 1e-9)
            u = float(lv.get("u_probability") or 1e-9)
            levels.append(_Level(lv["sql_condition"], 0.0, rank, False, m, u))
            rank -= 1
        out.append(_Comparison(str(comp["output_column_name"]), tuple(levels)))
    return tuple(out)


def _columns(condition: str) -> set[str]:
    return {m.group(1) for m in _COLUMN_REF.finditer(condition)}


def _weight(m: float, u: float) -> float:
    return math.log2(max(m, 1e-12) / max(u, 1e-12))


@dataclass(frozen=True)
class _Plan:
    sql: str  # record_key, gamma_<comparison>… for each candidate
    weights: dict[str, dict[int, float]]  # comparison -> gamma -> log2(m/u)


@dataclass(frozen=True)
class ScoredCandidates:
    """Per source record: the summed weight, each comparison's gamma, and ``vetoed``: the
    linkage vetoes read for a query. The query's forename disagrees with the record's on every
    name level (the twin signal: a sibling born the same day shares surname, date of birth and
    home, never the forename), or its NHS number or UPN differs from the record's."""

    frame: pl.DataFrame  # record_key, weight, vetoed, gamma_<comparison>…


class QueryScorer:
    """The model's comparisons compiled for queries of each shape (which fields are present).

    Thread-safe: each thread keeps its own DuckDB connection."""

    def __init__(self, model: ModelArtefact) -> None:
        self.model = model
        self.version = model.version
        self.comparisons = _comparisons(model)
        self.forename_else = gamma(model.splink_settings, "forename", "else")
        cols: set[str] = set()
        for comp in self.comparisons:
            for lv in comp.levels:
                if lv.condition.strip().upper() != "ELSE":
                    cols |= _columns(lv.condition)
        self.columns = tuple(sorted(cols))
        self._local = threading.local()
        self._plans: dict[frozenset[str], _Plan] = {}
        self._lock = threading.Lock()

    def _con(self) -> duckdb.DuckDBPyConnection:
        con: duckdb.DuckDBPyConnection | None = getattr(self._local, "con", None)
        if con is None:
            import duckdb

            con = duckdb.connect(":memory:")
            con.execute("SET threads = 1")
            self._local.con = con
        return con

    def _side(self, col: str, side: str, present: frozenset[str]) -> str:
        typ = "VARCHAR[]" if col in LIST_COLUMNS else "VARCHAR"
        if col not in SEARCH_KEY_SCHEMA or col == "record_key":
            return f"CAST(NULL AS {typ}) AS {col}_{side}"
        if side == "l":
            if col not in present:
                return f"CAST(NULL AS {typ}) AS {col}_l"
            return f"CAST(${col} AS {typ}) AS {col}_l"
        if col in LIST_COLUMNS:
            return f"string_split(c.{col}, ' ') AS {col}_r"
        return f"c.{col} AS {col}_r"

    def _reachable(self, present: frozenset[str]) -> dict[str, list[tuple[bool, bool]]]:
        """For each level of each comparison: (is it TRUE for a query of this shape that agrees
        on everything it carries, can it be reached at all). A level that is not TRUE under
        that probe and needs a column the query never carries (middle names, street, carers)
        can never be reached: it is folded downwards. (The probe is evaluated by DuckDB.)"""
        con = self._con()
        probe_cols = ", ".join(
            f"{self._probe_value(c, present)} AS {c}_{s}" for c in self.columns for s in "lr"
        )
        out: dict[str, list[tuple[bool, bool]]] = {}
        for comp in self.comparisons:
            flags = []
            for lv in comp.levels:
                if lv.condition.strip().upper() == "ELSE":
                    flags.append((True, True))
                    continue
                sql = f"SELECT COALESCE(({lv.condition}), FALSE) FROM (SELECT {probe_cols})"  # noqa: S608  # nosec B608
                rows = con.execute(sql).fetchall()
                true = bool(rows and rows[0][0])
                needs_missing = bool(_columns(lv.condition) - present)
                flags.append((true, true or not needs_missing))
            out[comp.name] = flags
        return out

    @staticmethod
    def _probe_value(col: str, present: frozenset[str]) -> str:
        if col not in present:
            return "CAST(NULL AS VARCHAR[])" if col in LIST_COLUMNS else "CAST(NULL AS VARCHAR)"
        if col in LIST_COLUMNS:
            return "['probe']"
        if col == "dob":
            return "'2015-03-04'"
        return "'probe'"

    def _case(
        self, comp: _Comparison, flags: list[tuple[bool, bool]], present: frozenset[str]
    ) -> tuple[str, dict[int, float]] | None:
        """(gamma CASE, weight of each gamma) of one comparison for a query shape; None: the
        query carries none of its fields (always null). DuckDB pays per WHEN, so the weights
        are looked up from the gammas afterwards rather than computed by a second CASE."""
        pairs = list(zip(comp.levels, flags, strict=True))
        null_true = any(true for lv, (true, _) in pairs if lv.is_null)
        agreeing = [lv for lv, (_, reach) in pairs
                    if reach and not lv.is_null and lv.condition.strip().upper() != "ELSE"]
        if null_true and not agreeing:
            return None
        # A null level written for full records ("no postcode, street, town or carers") also
        # holds for a query carrying only a district: then "null" means the candidate lacks
        # every field the query carries for this comparison, tried before the disagreement.
        carried = sorted(set().union(*(_columns(lv.condition) for lv in agreeing))
                         & present)
        late = ([" AND ".join(f"{c}_r IS NULL" for c in carried) or "FALSE"]
                if null_true else [])
        weights: dict[int, float] = {-1: 0.0}
        whens_g: list[str] = []
        carry_m = carry_u = 0.0
        for lv, (_, reach) in pairs:
            if lv.is_null:
                if not null_true:  # the candidate's side may be null
                    whens_g.append(f"WHEN ({lv.condition}) THEN -1")
                continue
            is_else = lv.condition.strip().upper() == "ELSE"
            if not reach and not is_else:  # never reached by this shape: fold it downwards
                carry_m += lv.m
                carry_u += lv.u
                continue
            if is_else:  # disagreement is its own evidence: nothing folds into it
                carry_m = carry_u = 0.0
                for cond in late:
                    whens_g.append(f"WHEN ({cond}) THEN -1")
            weights[lv.gamma] = _weight(lv.m + carry_m, lv.u + carry_u)
            carry_m = carry_u = 0.0
            if is_else:
                whens_g.append(f"ELSE {lv.gamma}")
            else:
                whens_g.append(f"WHEN ({lv.condition}) THEN {lv.gamma}")
        return f"CASE {' '.join(whens_g)} END", weights

    def _plan(self, present: frozenset[str]) -> _Plan:
        with self._lock:
            plan = self._plans.get(present)
        if plan is not None:
            return plan
        reach = self._reachable(present)
        terms = []
        used: set[str] = set()
        weights: dict[str, dict[int, float]] = {}
        for comp in self.comparisons:
            case = self._case(comp, reach[comp.name], present)
            if case is None:  # the query carries none of its fields: null, weight 0
                terms.append(f"-1 AS gamma_{comp.name}")
                weights[comp.name] = {-1: 0.0}
                continue
            terms.append(f"{case[0]} AS gamma_{comp.name}")
            weights[comp.name] = case[1]
            used |= _columns(case[0])
        sides = ", ".join(self._side(c, s, present) for c in sorted(used) for s in "lr")
        sql = (
            f"SELECT record_key, {', '.join(terms)} FROM ("  # noqa: S608
            f"SELECT c.record_key{', ' if sides else ''}{sides} FROM cand c)"  # nosec B608 - internal names and constants only
        )
        plan = _Plan(sql, weights)
        with self._lock:
            self._plans[present] = plan
        return plan

    def score(self, query: Mapping[str, Any], candidates: pl.DataFrame) -> ScoredCandidates:
        """Score candidate key rows (:data:`SEARCH_KEY_SCHEMA`, extra columns ignored)."""
        present = frozenset(k for k, v in query.items() if v is not None and k in KEY_COLUMNS)
        gamma_cols = {f"gamma_{c.name}": pl.Int64() for c in self.comparisons}
        if candidates.height == 0:
            return ScoredCandidates(pl.DataFrame(
                schema={"record_key": pl.Int64(), "weight": pl.Float64(), **gamma_cols,
                        "vetoed": pl.Boolean()}))
        plan = self._plan(present)
        con = self._con()
        cand = candidates.select(list(SEARCH_KEY_SCHEMA)).cast(SEARCH_KEY_SCHEMA)  # type: ignore[arg-type]
        params = {c: query[c] for c in present if f"${c}" in plan.sql}
        con.register("cand", cand.to_arrow())
        try:
            rows = con.execute(plan.sql, params).fetchall()
        finally:
            con.unregister("cand")
        names = [c.name for c in self.comparisons]
        lookups = [plan.weights[n] for n in names]
        fn_given = query.get("fn") is not None
        idx = {n: i for i, n in enumerate(names)}
        out = []
        for row in rows:
            gammas = row[1:]
            weight = sum(w.get(g, 0.0) for w, g in zip(lookups, gammas, strict=True))
            vetoed = (fn_given and "forename" in idx
                      and gammas[idx["forename"]] == self.forename_else) or any(
                ident in idx and gammas[idx[ident]] == 0 for ident in ("nhs", "upn"))
            out.append((row[0], weight, *gammas, vetoed))
        schema = {"record_key": pl.Int64(), "weight": pl.Float64(), **gamma_cols,
                  "vetoed": pl.Boolean()}
        return ScoredCandidates(pl.DataFrame(out, schema=schema, orient="row"))


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
    "KEY_COLUMNS", "SEARCH_KEY_SCHEMA", "QueryRecord", "QueryScorer", "ScoredCandidates",
    "confidences", "normalise_postcode", "query_keys", "scorer", "search_keys",
]
