"""The linkage engine's public interface: train, load, dedupe, match_new.

Everything here takes and returns polars DataFrames (see :mod:`contactpoint.matching.frame`);
Splink and DuckDB stay inside ``contactpoint.matching``. ``workdir`` is a scratch directory the
engine owns for the duration of a call (a file-backed DuckDB database lives there); the caller
may delete it afterwards.

Decisions, in one place:

* Splink scores the pairs the blocking rules find (rules in :mod:`.model`, pairs made by
  :mod:`.blocking`).
* Vetoes (:mod:`.scoring`): different valid NHS numbers, different valid UPNs; in household
  populations also the twin pattern (exact DOB, surname agrees, forenames disagree, no shared
  identifier) and "no person evidence" (neither forename nor DOB agrees). A vetoed pair is
  never linked and is a *cannot-link* constraint for clustering.
* Ambiguous records (household populations): a record that auto-links to two children born
  together (one source holds both), or a new record that auto-links to two existing children,
  links to neither and goes to review.
* Address treatment: training measures whether the population lives in households (people of
  one source sharing a home); if so the home is one comparison, otherwise postcode, number,
  street, town and carers are separate comparisons.
* Bands (:class:`.artefact.Rules`): p >= link -> auto-link; review <= p < link -> clerical
  review; below -> no link.
* Clustering (:mod:`.cluster`): edges by descending match weight, union only when the two
  clusters share no cannot-link pair, their NHS numbers / UPNs do not conflict, and no source
  holds two records with one DOB and different forenames across them.

See docs/linkage.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from contactpoint.matching.artefact import ModelArtefact, read_artefact
from contactpoint.matching.frame import Existing
from contactpoint.matching.query import (
    KEY_COLUMNS,
    SEARCH_KEY_SCHEMA,
    QueryRecord,
    QueryScorer,
    confidences,
    indistinguishable,
    normalise_postcode,
    query_keys,
)

DEFAULT_MODEL_PATH = Path(__file__).with_name("default_model.json")

CLUSTERS_SCHEMA: dict[str, pl.DataType] = {"record_key": pl.Int64(), "cluster_key": pl.Int64()}
REVIEW_SCHEMA: dict[str, pl.DataType] = {
    "record_key_l": pl.Int64(),
    "record_key_r": pl.Int64(),
    "match_probability": pl.Float64(),
    "reason": pl.Utf8(),
}
MATCH_NEW_SCHEMA: dict[str, pl.DataType] = {
    "record_key": pl.Int64(),
    "decision": pl.Utf8(),  # 'link' | 'review' | 'new'
    "child_key": pl.Int64(),  # best candidate child (the link target, or the one to review)
    "match_probability": pl.Float64(),  # probability of the best candidate child, 0 if none
    "new_cluster_key": pl.Int64(),  # new records that are one new child share it
}


@dataclass(frozen=True)
class LinkResult:
    """Outcome of :func:`dedupe`.

    * ``clusters``: every input record once, ``record_key`` -> ``cluster_key`` (the smallest
      record_key of the cluster; records sharing it are one child).
    * ``review_pairs``: pairs in the clerical band that ended up in *different* clusters,
      ``reason`` one of ``'clerical_band'`` or ``'conflict'`` (a high-scoring pair that the
      vetoes kept apart only through other records: worth a human look).
    * ``stats``: counts and timings (records, candidate pairs, links, vetoes, clusters, seconds);
      with ``fit_dir``, ``stats["model_fit"]``: whether the model fitted and why.
    * ``model``: the model trained for this population when the given one did not fit.
    * ``search_keys``: Arrow IPC files in ``workdir`` holding every record's
      :data:`SEARCH_KEY_SCHEMA` row, made from the preparation scoring did (the link run stores
      them without preparing the records again); ``()`` when the engine made none.
    """

    clusters: pl.DataFrame
    review_pairs: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    model: ModelArtefact | None = None  # a model trained for this population (``fit_dir``)
    search_keys: tuple[Path, ...] = ()


def load_model(path: Path | None = None) -> ModelArtefact:
    """Load a model artefact (verifying its content hash); the shipped default when ``None``."""
    return read_artefact(DEFAULT_MODEL_PATH if path is None else Path(path))


def train(records: pl.DataFrame, out_dir: Path, *, workdir: Path | None = None) -> ModelArtefact:
    """Train a model on a record frame and write ``model-<version>.json`` + training report.

    u by random sampling, the prior by deterministic rules (shared NHS number or UPN; exact
    name and DOB), m by EM on several blocking rules; writes ``training-report-<version>.json``
    and ``.md`` beside the model. Returns the written artefact (``path`` set).
    """
    from contactpoint.matching.training import train_model

    return train_model(records, Path(out_dir), workdir=workdir)


def dedupe(
    records: pl.DataFrame | pl.LazyFrame, model: ModelArtefact, workdir: Path,
    keep_dir: Path | None = None, fit_dir: Path | None = None,
) -> LinkResult:
    """Link a whole record frame from scratch: score, veto, band and cluster.

    ``records``: a record frame, or a plan for one (``pl.scan_ipc`` of a spilled frame): the
    engine collects a plan itself and lets go of the records while DuckDB scores, which it
    cannot do with a frame its caller still holds (a first run's largest frame).

    ``keep_dir``: also leave the prepared records there, so that the first ``match_new`` with
    that directory need not prepare the nation again.
    ``fit_dir``: first check that ``model`` fits these records (:mod:`.fit`: households and
    multiple births, measured as training would); if it does not, train a model on them,
    write it into ``fit_dir`` and link with it (``LinkResult.model``)."""
    from contactpoint.matching.scoring import run_dedupe

    result: LinkResult = run_dedupe(records, model, Path(workdir), keep_dir, fit_dir)
    return result


def existing_mark(workdir: Path) -> str | None:
    """The mark of the store of existing records kept in ``workdir`` (see :class:`Existing`),
    or ``None`` if there is no usable store there: then ``match_new`` needs them in full."""
    from contactpoint.matching import prepared

    if not (Path(workdir) / prepared.FILE).exists():
        return None
    with prepared.opened(Path(workdir)) as con:
        return prepared.mark(con)


def match_new(
    existing: Existing, new: pl.DataFrame, model: ModelArtefact, workdir: Path
) -> pl.DataFrame:
    """Match new records against existing children; never re-clusters the existing ones.

    ``workdir`` keeps the store of existing records between calls: pass the same directory
    every day with ``existing`` as the changes since :func:`existing_mark`, and only those
    records are prepared again and stored; nothing else about the others is read.

    ``existing``: :class:`~contactpoint.matching.frame.Existing`, existing frames of record
    frame + ``child_key`` (Int64) + ``shielded`` (Boolean).
    ``new``: record frame (record keys disjoint from the existing ones).
    Returns :data:`MATCH_NEW_SCHEMA`, one row per new record:

    * ``'link'``: joins ``child_key`` (p >= link threshold, no veto against any record of
      that child, directly or through another new record of the same new cluster).
    * ``'review'``: clerical band against ``child_key``; or a shielded child matched above the
      shield floor but below auto-link.
    * ``'new'``: a new child; all new records with the same ``new_cluster_key`` are that child.

    ``new_cluster_key`` is set on every row (the smallest record_key of the new records'
    cluster), so a review that is rejected can still create the new child.
    Only pairs (existing x new) and (new x new) are scored.

    The rows also carry the :data:`KEY_COLUMNS` of each new record (its search keys, from the
    preparation matching did), so the caller need not prepare the records again to store them.
    """
    from contactpoint.matching.scoring import run_match_new

    return run_match_new(existing, new, model, Path(workdir))


def keep_existing(existing: Existing, workdir: Path) -> None:
    """Bring the store of existing records in ``workdir`` to ``existing`` without matching
    anything (after a first run: the records that ``dedupe(keep_dir=workdir)`` prepared now
    have children)."""
    from contactpoint.matching import prepared

    with prepared.opened(Path(workdir)) as con:
        prepared.update(con, existing)


def explain_pair(records: pl.DataFrame, model: ModelArtefact) -> Any:
    """Each comparison's level and match weight for a pair of records (two rows of a record
    frame), the vetoes that hold, and the total: :class:`.explain.PairExplanation`."""
    from contactpoint.matching.explain import explain_pair as explain

    return explain(records, model)


# --- practitioner search (see :mod:`contactpoint.matching.query`) ---------------------------

def search_keys(records: pl.DataFrame) -> pl.DataFrame:
    """A record frame's narrow search keys (:data:`query.SEARCH_KEY_SCHEMA`), normalised by
    the engine's own rules."""
    from contactpoint.matching.query import search_keys as _keys

    return _keys(records)


def query_scorer(model: ModelArtefact) -> QueryScorer:
    """The model's own comparisons and weights, compiled for partial-record queries."""
    from contactpoint.matching.query import scorer

    return scorer(model)


__all__ = [
    "CLUSTERS_SCHEMA",
    "DEFAULT_MODEL_PATH",
    "KEY_COLUMNS",
    "MATCH_NEW_SCHEMA",
    "REVIEW_SCHEMA",
    "SEARCH_KEY_SCHEMA",
    "LinkResult",
    "QueryRecord",
    "QueryScorer",
    "confidences",
    "dedupe",
    "existing_mark",
    "explain_pair",
    "indistinguishable",
    "keep_existing",
    "load_model",
    "match_new",
    "normalise_postcode",
    "query_keys",
    "query_scorer",
    "search_keys",
    "train",
]
