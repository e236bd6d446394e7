"""Practitioner search: criteria -> candidates -> the model's own score -> at most ten children.

1. The criteria are checked against the accepted combinations (``domain.search``) and a stated
   reason is required.
2. The query is normalised by the engine's own rules (``engine.query_keys``) and candidates
   come from the indexed ``search_key`` table (``linking.search_keys``).
3. Each candidate record is scored with the current linkage model's comparisons and weights
   (``engine.query_scorer``); a record the linkage vetoes would keep apart (forename disagrees
   on every level; another NHS number or UPN) loses :attr:`SearchSettings.veto_penalty` bits.
   Each child counts with its best record; children the query cannot tell apart (their
   records agree on every field it carries: twins and no forename) count with the group's
   best and come in child-id order (``engine.indistinguishable``).
4. Confidence is calibrated for a query (``engine.confidences``): one child in N is the one
   asked for, or none is; two near-identical children share the probability.
5. The policy (``domain.visibility``) drops shielded children the criteria may not find and
   decides each result's display fields; the search (criteria, reason, child ids returned) is
   appended to the audit trail in the same transaction.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from contactpoint.access.models import AuditContext
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.domain.identifiers import postcode_district
from contactpoint.domain.search import MAX_RESULTS, SearchCriteria, checked
from contactpoint.domain.visibility import Viewer, findable, result_fields
from contactpoint.errors import ReasonRequired
from contactpoint.linking import child_records, models, search_keys
from contactpoint.matching import engine
from contactpoint.matching.artefact import ModelArtefact

MAX_REASON = 500
SEX_WORDS = {"M": "male", "F": "female", "U": "not_specified"}


@dataclass(frozen=True)
class SearchSettings:
    population_floor: int = 10_000  # a query may be about any child of a town at least
    prior_in_index: float = 0.5  # P(the child asked about is in the index at all)
    veto_penalty: float = 40.0  # bits taken from a record the linkage vetoes would refuse
    population_ttl_seconds: float = 300.0


@dataclass(frozen=True)
class SearchHit:
    child_id: str
    confidence: float
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    town: str | None = None
    postcode_district: str | None = None


def stated_reason(reason: str | None) -> str:
    value = (reason or "").strip()
    if not value:
        raise ReasonRequired("state the reason for this search or view")
    if len(value) > MAX_REASON:
        raise ReasonRequired(f"a stated reason is at most {MAX_REASON} characters")
    return value


class _ModelCache:
    """The current linkage model of a linkage directory, re-read when ``CURRENT`` changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_dir: dict[Path, tuple[str, ModelArtefact]] = {}

    def get(self, linkage_dir: Path) -> ModelArtefact:
        pointer = models.models_dir(linkage_dir) / "CURRENT"
        try:
            mark = f"{pointer.stat().st_mtime_ns}:{pointer.read_text().strip()}"
        except OSError:
            mark = "default"
        with self._lock:
            found = self._by_dir.get(linkage_dir)
            if found is not None and found[0] == mark:
                return found[1]
        model = models.current_model(linkage_dir)
        with self._lock:
            self._by_dir[linkage_dir] = (mark, model)
        return model


_models = _ModelCache()
_population: dict[str, tuple[float, int]] = {}
_population_lock = threading.Lock()


def population(conn: Connection, ttl: float) -> int:
    """Live children in the index (cached for ``ttl`` seconds per database)."""
    key = str(conn.engine.url)
    now = time.monotonic()
    with _population_lock:
        hit = _population.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    n = int(conn.execute(text("SELECT COUNT(*) FROM child WHERE status = 'active'")).scalar_one())
    with _population_lock:
        _population[key] = (now, n)
    return n


def _query(c: SearchCriteria) -> engine.QueryRecord:
    return engine.QueryRecord(
        given_name=c.given_name, family_name=c.family_name, date_of_birth=c.date_of_birth,
        sex=c.sex, postcode=c.postcode, town=c.town, nhs_number=c.nhs_number, upn=c.upn,
    )


def ranked(
    conn: Connection,
    viewer: Viewer,
    criteria: SearchCriteria,
    model: ModelArtefact,
    settings: SearchSettings,
) -> list[tuple[int, str, bool, float]]:
    """``(child_key, child_id, shielded, confidence)``, best first, at most ten; no audit.

    Children the query cannot tell apart (``engine.indistinguishable``: twins and no forename)
    are tied: each counts with the group's best weight, so they share the confidence and
    come in child-id order."""
    keys = engine.query_keys(_query(criteria))
    rows = search_keys.candidate_rows(conn, search_keys.Retrieval(
        keys, criteria.born_from, criteria.born_to))
    if criteria.born_from is not None and criteria.born_to is not None:
        lo, hi = criteria.born_from.isoformat(), criteria.born_to.isoformat()
        rows = [r for r in rows if r["dob"] is not None and lo <= r["dob"] <= hi]
    if not findable(viewer, True, criteria.used()):
        rows = [r for r in rows if not r["shielded"]]
    if not rows:
        return []
    scored = engine.query_scorer(model).score_rows(keys, rows)
    best: dict[int, float] = {}
    about: dict[int, tuple[str, bool]] = {}
    for row, s in zip(rows, scored, strict=True):
        key = int(row["child_key"])
        w = s.weight - (settings.veto_penalty if s.vetoed else 0.0)
        if key not in best or w > best[key]:
            best[key] = w
        about[key] = (str(row["child_id"]), bool(row["shielded"]))
    group = engine.indistinguishable(keys, rows)
    group_best: dict[int, float] = {}
    for key, w in best.items():
        g = group[key]
        group_best[g] = max(w, group_best.get(g, w))
    weights = {key: group_best[group[key]] for key in best}
    n = max(settings.population_floor, population(conn, settings.population_ttl_seconds))
    order = list(weights)
    conf = engine.confidences([weights[k] for k in order], n, settings.prior_in_index)
    out = sorted(zip(order, conf, strict=True),
                 key=lambda kc: (-kc[1], -weights[kc[0]], about[kc[0]][0]))[:MAX_RESULTS]
    return [(key, about[key][0], about[key][1], c) for key, c in out]


@dataclass(frozen=True)
class SearchOutcome:
    hits: list[SearchHit]
    reference: int  # the audit entry of this search: pages carry it to the child view


def search(
    conn: Connection,
    *,
    viewer: Viewer,
    criteria: SearchCriteria,
    reason: str | None,
    ctx: AuditContext,
    linkage_dir: Path,
    settings: SearchSettings | None = None,
    now: datetime | None = None,
) -> list[SearchHit]:
    """Run one search and audit it (:func:`audited_search`)."""
    return audited_search(conn, viewer=viewer, criteria=criteria, reason=reason, ctx=ctx,
                          linkage_dir=linkage_dir, settings=settings, now=now).hits


def audited_search(
    conn: Connection,
    *,
    viewer: Viewer,
    criteria: SearchCriteria,
    reason: str | None,
    ctx: AuditContext,
    linkage_dir: Path,
    settings: SearchSettings | None = None,
    now: datetime | None = None,
) -> SearchOutcome:
    """:func:`search`, also answering the audit entry's sequence number: a reference to this
    search (and its stated reason) that the web pages carry to the record, so the reason never
    travels in a URL (``children.view.reason_from_reference``)."""
    why = stated_reason(reason)
    good = checked(criteria)
    settings = settings or SearchSettings()
    model = _models.get(linkage_dir)
    hits = ranked(conn, viewer, good, model, settings)
    # a result shows names, date of birth, sex and place: carers and involvements unread
    records = child_records.load_many(conn, {k: (i, s) for k, i, s, _ in hits}, services=False)
    out: list[SearchHit] = []
    for key, child_id, shielded, confidence in hits:
        survived = records.get(key)
        if survived is None:
            continue
        r = survived.record
        allowed = result_fields(viewer, shielded)
        address = r.whereabouts.address
        out.append(SearchHit(
            child_id=child_id,
            confidence=round(confidence, 4),
            given_name=r.names.given_name if "given_name" in allowed else None,
            family_name=r.names.family_name if "family_name" in allowed else None,
            date_of_birth=r.date_of_birth if "date_of_birth" in allowed else None,
            sex=SEX_WORDS[r.gender.value] if "sex" in allowed else None,
            town=address.town if address and "town" in allowed else None,
            postcode_district=(postcode_district(address.postcode)
                               if address and address.postcode
                               and "postcode_district" in allowed else None),
        ))
    # a search reads: its entry is committed (with concurrent reads', ADR 0007) before it
    # returns, and the caller's transaction with it
    entry = trail.append_read(
        conn, action=AuditAction.CHILD_SEARCH, actor=ctx.actor, organisation=ctx.organisation,
        reason=why, request_id=ctx.request_id,
        details={"criteria": good.audit_form(), "results": [h.child_id for h in out],
                 "model_version": model.version},
        children=[h.child_id for h in out], at=now,
    )
    return SearchOutcome(out, entry.seq)


__all__ = ["SearchHit", "SearchOutcome", "SearchSettings", "audited_search", "ranked", "search",
           "stated_reason"]
