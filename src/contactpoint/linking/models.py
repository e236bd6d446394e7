"""Which linkage model a run uses, and re-estimating it (``contactpoint link --retrain``).

Trained artefacts live under ``<linkage_dir>/models/`` as ``model-<version>.json``; the file
``<linkage_dir>/models/CURRENT`` names the one in use. Without it, the model shipped in the
package is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Connection

from contactpoint.linking import store
from contactpoint.matching import engine
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.engine import LinkResult
from contactpoint.matching.frame import Existing


@dataclass
class EngineMatcher:
    """The real engine behind the :class:`contactpoint.linking.service.Matcher` call shape.

    ``fit_dir``: a first run checks that the model fits the population and, if it does not,
    trains one there, makes it current and links with it (:func:`matcher_for`)."""

    model: ModelArtefact
    cache_dir: Path | None = None  # where the prepared existing records persist between runs
    fit_dir: Path | None = None
    model_choice: str | None = None  # what the run decided about its model, and why

    @property
    def version(self) -> str:
        return self.model.version

    def dedupe(self, records: pl.LazyFrame, workdir: Path) -> LinkResult:
        result = engine.dedupe(records, self.model, workdir, keep_dir=self.cache_dir,
                               fit_dir=self.fit_dir)
        fit = result.stats.get("model_fit")
        if result.model is not None and self.fit_dir is not None:
            self.model = result.model
            make_current(self.fit_dir, result.model)
        if fit is not None:
            verb = "trained a model on this population" if result.model else "kept the model"
            self.model_choice = f"{verb} ({self.model.version}): " + "; ".join(fit["reasons"])
        return result

    def existing_mark(self) -> str | None:
        return None if self.cache_dir is None else engine.existing_mark(self.cache_dir)

    def match_new(self, existing: Existing, new: pl.DataFrame, workdir: Path) -> pl.DataFrame:
        return engine.match_new(existing, new, self.model, self.cache_dir or workdir)

    def keep_existing(self, existing: Existing) -> None:
        if self.cache_dir is not None:
            engine.keep_existing(existing, self.cache_dir)


def models_dir(linkage_dir: Path) -> Path:
    return linkage_dir / "models"


def current_model(linkage_dir: Path) -> ModelArtefact:
    pointer = models_dir(linkage_dir) / "CURRENT"
    if pointer.exists():
        return engine.load_model(models_dir(linkage_dir) / pointer.read_text().strip())
    return engine.load_model(None)


def make_current(out: Path, model: ModelArtefact) -> None:
    if model.path is None:
        raise RuntimeError("the engine returned a model without a path")
    (out / "CURRENT").write_text(model.path.name + "\n")


def matcher_for(linkage_dir: Path) -> EngineMatcher:
    """The matcher a ``contactpoint link`` uses: the current model, kept between runs. With
    no current model yet (the shipped one), the first run checks the shipped model's fit on
    its population and trains one there when it does not fit; later runs keep it unless
    told (``--retrain``)."""
    chosen = (models_dir(linkage_dir) / "CURRENT").exists()
    return EngineMatcher(current_model(linkage_dir), cache_dir=linkage_dir / "engine",
                         fit_dir=None if chosen else models_dir(linkage_dir))


def retrain(conn: Connection, linkage_dir: Path, workdir: Path | None = None) -> ModelArtefact:
    """Train on every active source record and make the result the current model."""
    records = store.read_records(conn, "s.record_status = 'active'")
    out = models_dir(linkage_dir)
    model = engine.train(records, out, workdir=workdir)
    make_current(out, model)
    return model
