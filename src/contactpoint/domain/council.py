"""The values the council services store: one enum each, the CHECK constraints built from them
(:func:`contactpoint.db.base.one_of`)."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class EvidenceKind(StrEnum):
    """Kinds of evidence of the responsible council, strongest first (:data:`EVIDENCE_RANK`)."""

    COUNCIL_FEED = "council_feed"  # the council's own feed holds the child (LA-CSC-*, YOT-*)
    POSTCODE_DISTRICT = "postcode_district"  # where the child lives (shipped district table)
    SCHOOL_LAESTAB = "school_laestab"  # the LA part of the current school's LAESTAB
    UPN_LA = "upn_la"  # the LA that issued the child's UPN


EVIDENCE_RANK: dict[EvidenceKind, int] = {kind: i for i, kind in enumerate(EvidenceKind)}


class ShieldStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class ContactStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class InvestigationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class InvestigationOutcome(StrEnum):
    JUSTIFIED = "justified"  # the override was proper
    REFERRED = "referred"  # passed to the user's employer / another body
    DISCIPLINARY = "disciplinary"  # misuse: disciplinary action (the employer's)


class GrantStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class ShieldReviewState(StrEnum):
    """Where a shield's review date stands on a given day."""

    OVERDUE = "overdue"
    DUE = "due"  # within the notice window
    LATER = "later"


def shield_review_state(review_on: date, today: date, notice_days: int = 28) -> ShieldReviewState:
    """Overdue once the review date has passed; due within ``notice_days`` of it."""
    if review_on < today:
        return ShieldReviewState.OVERDUE
    if review_on <= today + timedelta(days=notice_days):
        return ShieldReviewState.DUE
    return ShieldReviewState.LATER
