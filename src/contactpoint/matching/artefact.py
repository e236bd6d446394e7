"""The model artefact: a versioned, content-hashed JSON file holding everything a link run needs.

Layout of ``model-<version>.json``::

    {
      "format": "contactpoint-linkage-model",
      "format_version": 1,
      "version": "<UTC timestamp>-<first 8 hex of content hash>",
      "created_at": "...",
      "splink_settings": {...},          # Splink 5 settings incl. trained m/u parameters
      "rules": {...},                    # our thresholds, bands, vetoes (see Rules)
      "training": {...},                 # summary (sizes, timings); full report beside it
      "content_hash": "sha256:<hex>"     # over the canonical JSON of all other keys
    }
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contactpoint.errors import ValidationFailed

FORMAT = "contactpoint-linkage-model"
FORMAT_VERSION = 1


class InvalidModel(ValidationFailed):
    code = "invalid_linkage_model"


@dataclass(frozen=True)
class Rules:
    """Our own decision rules, layered on top of Splink's match probability.

    * ``link_probability``: a pair at or above it is auto-linked (subject to the vetoes).
    * ``review_probability``: a pair in [review, link) goes to clerical review.
    * ``shield_floor_probability``: a new record whose best candidate is a *shielded* child with
      a probability in [floor, link) goes to review, never to a new child.
    * ``score_floor_weight``: pairs below this Splink match weight are not kept at all.
    * ``review_margin_weight``: a high-scoring edge that clustering refused goes to review only
      when it comes within this many bits of the edge by which either record joined its own
      child (a close call); a far weaker one was no contest.
    * Vetoes: two valid, different NHS numbers; two valid, different UPNs (always on); the twin
      pattern (exact date of birth, surname agreeing, forenames that disagree on every name
      level, and no shared NHS number or UPN) and the no-person-evidence pattern (neither
      forename nor date of birth agrees even roughly, no shared identifier: only household
      facts agree) when ``household_vetoes`` is on. A vetoed pair is never linked, and
      clustering never merges two clusters that contain a vetoed pair or conflicting
      identifiers.
    * ``household_vetoes`` is decided by training from the data (see ``fit.measure``): on
      when sources hold within-source pairs in the twin pattern (sources keep one record per
      child, so such pairs are distinct children born together), which is what any children's
      population shows; off for a population with no multiple births (FEBRL), where the same
      pattern is only ever a corrupted forename.
    """

    link_probability: float = 0.95
    review_probability: float = 0.80
    shield_floor_probability: float = 0.01
    score_floor_weight: float = -12.0
    household_vetoes: bool = True
    review_margin_weight: float = 5.0


@dataclass(frozen=True)
class ModelArtefact:
    version: str
    splink_settings: dict[str, Any]
    rules: Rules
    training: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    content_hash: str = ""
    path: Path | None = None

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "created_at": self.created_at,
            "splink_settings": self.splink_settings,
            "rules": asdict(self.rules),
            "training": self.training,
        }


def canonical_hash(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_artefact(model: ModelArtefact, out_dir: Path) -> ModelArtefact:
    """Write ``model-<version>.json`` into ``out_dir``; returns the model with hash and path."""
    body = model.body()
    digest = canonical_hash(body)
    body["content_hash"] = digest
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"model-{model.version}.json"
    path.write_text(json.dumps(body, indent=1, sort_keys=True, default=str) + "\n")
    return ModelArtefact(
        version=model.version,
        splink_settings=model.splink_settings,
        rules=model.rules,
        training=model.training,
        created_at=model.created_at,
        content_hash=digest,
        path=path,
    )


def read_artefact(path: Path) -> ModelArtefact:
    """Load and verify an artefact: right format, and its content hash matches."""
    try:
        body = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidModel(f"cannot read linkage model {path}: {exc}") from exc
    if body.get("format") != FORMAT or body.get("format_version") != FORMAT_VERSION:
        raise InvalidModel(f"{path} is not a contactpoint linkage model (format v{FORMAT_VERSION})")
    digest = body.pop("content_hash", None)
    if digest != canonical_hash(body):
        raise InvalidModel(f"linkage model {path} fails its content hash check")
    return ModelArtefact(
        version=str(body["version"]),
        splink_settings=dict(body["splink_settings"]),
        rules=Rules(**body["rules"]),
        training=dict(body.get("training", {})),
        created_at=str(body.get("created_at", "")),
        content_hash=str(digest),
        path=Path(path),
    )
