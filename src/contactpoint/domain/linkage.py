"""The values linkage stores: statuses, bands, causes and kinds, one enum each.

The database's CHECK constraints are built from these (:func:`contactpoint.db.base.one_of`),
so a value the code does not know cannot be stored, and a new value is added in one place.
"""

from __future__ import annotations

from enum import StrEnum


class RecordStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"  # a delta said so
    RETIRED = "retired"  # missing from a full extract


class ChildStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # absorbed into an older child (merged_into_id)
    ARCHIVED = "archived"  # no active source record left


class LinkRunMode(StrEnum):
    INITIAL = "initial"
    INCREMENTAL = "incremental"


class LinkEventKind(StrEnum):
    LINK = "link"
    HOLD = "hold"
    MERGE = "merge"
    UNMERGE = "unmerge"
    RETIRE = "retire"


class Band(StrEnum):
    """Why a record is where it is (``link_event.band``)."""

    AUTO = "auto"  # the engine linked it
    NEW = "new"  # a new child
    REVIEW = "review"  # a provisional child (or held) while a person decides
    CLERICAL = "clerical"  # a person decided
    VETO = "veto"  # a remembered "different" kept it apart
    KEEP = "keep"  # a changed record stays on its child


class MergeKind(StrEnum):
    MERGE = "merge"
    UNMERGE = "unmerge"


class ReviewStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    SUPERSEDED = "superseded"


class ReviewOutcome(StrEnum):
    SAME = "same"
    DIFFERENT = "different"


class ReviewCause(StrEnum):
    """Why a pair waits for a person (``review_item.cause``)."""

    CLERICAL_BAND = "clerical_band"  # the model is unsure
    CONFLICT = "conflict"  # a high-scoring pair clustering kept apart, a close call
    AMBIGUOUS = "ambiguous"  # a record that would bridge two children born together
    NHS_CONFLICT = "nhs_conflict"  # the same name and date of birth, two NHS numbers
    SHIELDED_CANDIDATE = "shielded_candidate"  # a weak match to a shielded child: held
    MOVED = "moved"  # a changed record now matches another child
    DECIDED_SAME = "decided_same"  # a remembered "same" linked it
