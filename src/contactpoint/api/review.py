"""The clerical review queue (JSON): list items, see both records with the model's evidence,
decide; a child's link history and the unmerge (step-up). For council teams and national
administrators (``linkage:review:decide``); every view of an item's records, every decision
and every unmerge is audited by the service."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Permission
from contactpoint.api.runtime import runtime
from contactpoint.api.security import Require, signed_in
from contactpoint.domain.linkage import ReviewOutcome, ReviewStatus
from contactpoint.linking import child_links, models, review

router = APIRouter(prefix="/api/review", tags=["review"], dependencies=[Depends(signed_in)])

Reviewer = Annotated[Principal, Depends(Require(Permission.LINKAGE_REVIEW_DECIDE))]
FreshReviewer = Annotated[
    Principal, Depends(Require(Permission.LINKAGE_REVIEW_DECIDE, recent_auth=True))]


class ItemOut(BaseModel):
    id: int
    cause: str
    status: str
    match_probability: float | None
    left: str  # SOURCE:SOURCE_RECORD_ID (no personal data in the list)
    right: str
    left_child_id: str | None
    right_child_id: str | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: ReviewOutcome
    reason: str | None = Field(default=None, max_length=500)
    force: bool = False


class UnmergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[str] = Field(min_length=1, max_length=500)  # SOURCE:SOURCE_RECORD_ID
    reason: str = Field(min_length=1, max_length=500)
    new: bool = False


class DecisionOut(BaseModel):
    item_id: int
    outcome: str
    child_id: str | None


@router.get("", summary="Review items (no personal data)")
def list_items(request: Request, reviewer: Reviewer,
               status: ReviewStatus = ReviewStatus.OPEN) -> list[ItemOut]:
    with runtime(request).engine.connect() as conn:
        items = review.list_items(conn, status=status, limit=200)
    return [ItemOut(id=i.id, cause=i.cause, status=i.status,
                    match_probability=i.match_probability,
                    left=f"{i.left.source_code}:{i.left.source_record_id}",
                    right=f"{i.right.source_code}:{i.right.source_record_id}",
                    left_child_id=i.left.child_id, right_child_id=i.right.child_id)
            for i in items]


@router.get("/{item_id}", summary="Both records side by side, each comparison's level and "
            "match weight (the model's waterfall), and the vetoes that hold")
def show_item(item_id: int, request: Request, reviewer: Reviewer) -> dict[str, Any]:
    rt = runtime(request)
    model = models.current_model(rt.settings.effective_linkage_dir)
    with rt.engine.begin() as conn:
        shown = review.evidence(conn, item_id, model, actor=reviewer.actor,
                                organisation=reviewer.organisation.code)
    return shown.as_dict()


@router.post("/{item_id}/decision", summary="Decide an item: the same child or different")
def decide(item_id: int, body: DecisionIn, request: Request,
           reviewer: Reviewer) -> DecisionOut:
    with runtime(request).engine.begin() as conn:
        result = review.decide(conn, item_id, body.outcome, actor=reviewer.actor,
                               reason=body.reason, force=body.force)
    return DecisionOut(item_id=result.item_id, outcome=result.outcome, child_id=result.child_id)


@router.get("/children/{child_id}/links",
            summary="A child's source records and its merges and unmerges (references only)")
def child_link_history(child_id: str, request: Request, reviewer: Reviewer) -> dict[str, Any]:
    with runtime(request).engine.connect() as conn:
        found = child_links.links_of(conn, child_id, reviewer)
    return {"child_id": found.child.child_id,
            "records": [{"ref": r.ref, "status": r.record_status} for r in found.records],
            "events": [{**asdict(e), "created_at": e.created_at.isoformat()}
                       for e in found.events]}


@router.post("/children/{child_id}/unmerge",
             summary="Split named records out of a child, with a reason; step-up required")
def unmerge_child(child_id: str, body: UnmergeIn, request: Request,
                  reviewer: FreshReviewer) -> dict[str, Any]:
    rt = runtime(request)
    with rt.transaction() as conn:
        current, target = child_links.split(conn, child_id, body.records, reviewer,
                                            reason=body.reason, to_new=body.new, now=rt.clock())
    return {"records": len(body.records), "from": current.child_id, "to": target.child_id}
