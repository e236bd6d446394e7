"""The clerical review queue: pairs of source records a human must decide.

An item is a pair of source records (smaller key first), never queued twice: once a pair has
been queued it never comes back, and once decided the decision is remembered by the pair and
reused by every later run. ``same`` merges the two children (or links a held record to its
partner's child); ``different`` keeps them apart for good (a veto every run respects).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import BigInteger, Connection, String, and_, bindparam, insert, select, text, update
from sqlalchemy.orm import aliased

from contactpoint.db.base import UTCDateTime, utcnow
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.errors import Conflict, NotFound, ValidationFailed
from contactpoint.linkage import history, store
from contactpoint.linkage.tables import review_decision, review_item

OUTCOMES = ("same", "different")


def queue_pairs(
    conn: Connection, pairs: pl.DataFrame, *, run_id: int | None, model_version: str | None,
    now: datetime,
) -> int:
    """Queue ``pairs`` (``record_key_l < record_key_r``, ``child_key``, ``match_probability``,
    ``cause``) that were never queued before. Returns how many were added."""
    if pairs.height == 0:
        return 0
    pairs = pairs.with_columns(
        pl.min_horizontal("record_key_l", "record_key_r").alias("l"),
        pl.max_horizontal("record_key_l", "record_key_r").alias("r"),
    ).select(pl.col("l").alias("record_key_l"), pl.col("r").alias("record_key_r"),
             "child_key", "match_probability", "cause").filter(
        pl.col("record_key_l") != pl.col("record_key_r")
    ).unique(["record_key_l", "record_key_r"], keep="first")
    store.load_temp(conn, "tmp_review", pairs)
    result = conn.execute(
        text(
            "INSERT INTO review_item (record_key_l, record_key_r, child_key, match_probability, "
            "cause, model_version, run_id, status, created_at) "
            "SELECT t.record_key_l, t.record_key_r, t.child_key, t.match_probability, t.cause, "
            ":mv, :run_id, 'open', :now FROM tmp_review t WHERE NOT EXISTS (SELECT 1 FROM "
            "review_item i WHERE i.record_key_l = t.record_key_l "
            "AND i.record_key_r = t.record_key_r)"
        ).bindparams(
            bindparam("mv", model_version, type_=String()),
            bindparam("run_id", run_id, type_=BigInteger()),
            bindparam("now", now, type_=UTCDateTime()),
        )
    )
    store.drop_temp(conn, "tmp_review")
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class ReviewSide:
    record_key: int
    source_code: str
    source_record_id: str
    child_id: str | None


@dataclass(frozen=True)
class ReviewItem:
    id: int
    left: ReviewSide
    right: ReviewSide
    match_probability: float | None
    cause: str
    status: str
    created_at: datetime


def list_items(conn: Connection, *, status: str = "open", limit: int = 50,
               item_id: int | None = None) -> list[ReviewItem]:
    sl, sr = aliased(source_record), aliased(source_record)
    ll, lr = aliased(record_link), aliased(record_link)
    cl, cr = aliased(child), aliased(child)
    stmt = (
        select(review_item.c.id, review_item.c.match_probability, review_item.c.cause,
               review_item.c.status, review_item.c.created_at,
               sl.c.id, sl.c.source_code, sl.c.source_record_id, cl.c.child_id,
               sr.c.id, sr.c.source_code, sr.c.source_record_id, cr.c.child_id)
        .join(sl, sl.c.id == review_item.c.record_key_l)
        .join(sr, sr.c.id == review_item.c.record_key_r)
        .outerjoin(ll, ll.c.record_key == sl.c.id)
        .outerjoin(lr, lr.c.record_key == sr.c.id)
        .outerjoin(cl, cl.c.id == ll.c.child_key)
        .outerjoin(cr, cr.c.id == lr.c.child_key)
        .order_by(review_item.c.id).limit(limit)
    )
    if status != "all":
        stmt = stmt.where(review_item.c.status == status)
    if item_id is not None:
        stmt = stmt.where(review_item.c.id == item_id)
    return [
        ReviewItem(int(r[0]), ReviewSide(int(r[5]), r[6], r[7], r[8]),
                   ReviewSide(int(r[9]), r[10], r[11], r[12]), r[1], r[2], r[3], r[4])
        for r in conn.execute(stmt).all()
    ]


@dataclass(frozen=True)
class DecisionResult:
    item_id: int
    outcome: str
    child_id: str | None  # where the pair now stands: the survivor (same) or None (different)
    merged: bool


def _record(conn: Connection, key: int) -> tuple[int | None, str | None, str]:
    row = conn.execute(
        select(record_link.c.child_key, source_record.c.nhs_number,
               source_record.c.record_status)
        .outerjoin(record_link, record_link.c.record_key == source_record.c.id)
        .where(source_record.c.id == key)
    ).one()
    return (None if row[0] is None else int(row[0])), row[1], row[2]


def decide(
    conn: Connection,
    item_id: int,
    outcome: str,
    *,
    actor: str | None = None,
    reason: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> DecisionResult:
    """Record a human decision on an open item and act on it.

    ``same`` with two different NHS numbers is refused unless ``force`` (then recorded as
    forced, with the reason, which is required).
    """
    if outcome not in OUTCOMES:
        raise ValidationFailed(f"outcome must be one of {OUTCOMES}")
    if force and not reason:
        raise ValidationFailed("a forced decision needs a reason")
    now = now or utcnow()
    item = conn.execute(
        select(review_item.c.record_key_l, review_item.c.record_key_r, review_item.c.status)
        .where(review_item.c.id == item_id)
    ).first()
    if item is None:
        raise NotFound(f"no review item {item_id}")
    if item[2] != "open":
        raise Conflict(f"review item {item_id} is already {item[2]}")
    left, right = int(item[0]), int(item[1])
    (child_l, nhs_l, _), (child_r, nhs_r, _) = _record(conn, left), _record(conn, right)
    if outcome == "same" and not force and nhs_l and nhs_r and nhs_l != nhs_r:
        raise Conflict("the two records carry different NHS numbers: refusing to join "
                       "them (use --force with a reason to override; it is recorded)")
    conn.execute(insert(review_decision).values(
        record_key_l=left, record_key_r=right, outcome=outcome, review_item_id=item_id,
        forced=force, actor=actor, reason=reason, decided_at=now))
    conn.execute(update(review_item).where(review_item.c.id == item_id).values(
        status="decided", closed_at=now))
    if outcome == "same":
        return _join(conn, item_id, left, right, child_l, child_r, actor, reason, force, now)
    return _separate(conn, item_id, left, right, child_l, child_r, actor, reason, now)


def _settle_held(conn: Connection, key: int, child_key: int, band: str, now: datetime) -> None:
    frame = pl.DataFrame([(key, child_key, band, None)], schema=store.ASSIGN_SCHEMA, orient="row")
    store.apply_assignments(conn, frame, kind="link", now=now)
    conn.execute(update(child).where(and_(child.c.id == child_key,
                                          child.c.status == "archived"))
                 .values(status="active", updated_at=now))


def _join(conn: Connection, item_id: int, left: int, right: int, child_l: int | None,
          child_r: int | None, actor: str | None, reason: str | None, force: bool,
          now: datetime) -> DecisionResult:
    if child_l is None and child_r is None:
        raise Conflict("neither record is linked yet: run `contactpoint link` first")
    if child_l is None or child_r is None:
        held, partner = (left, child_r) if child_l is None else (right, child_l)
        assert partner is not None
        target = history.resolve_key(conn, partner)
        if not force:
            nhs = _record(conn, held)[1]
            others = history.nhs_numbers(conn, target.key)
            if nhs and others - {nhs}:
                raise Conflict("the child carries a different NHS number: refusing to join")
        _settle_held(conn, held, target.key, "clerical", now)
        return DecisionResult(item_id, "same", target.child_id, False)
    survivor = history.merge(conn, child_l, child_r, actor=actor, reason=reason, force=force,
                             review_item_id=item_id, now=now)
    return DecisionResult(item_id, "same", survivor.child_id, child_l != child_r)


def _separate(conn: Connection, item_id: int, left: int, right: int, child_l: int | None,
              child_r: int | None, actor: str | None, reason: str | None,
              now: datetime) -> DecisionResult:
    if child_l is None or child_r is None:
        # a held record is a child of its own: it is not the shielded child it resembled
        for key, ck in ((left, child_l), (right, child_r)):
            if ck is None:
                (new_key,) = store.create_children(conn, pl.DataFrame(
                    {"shielded": [False], "owning_la": [None], "retained_to_25": [False]},
                    schema={"shielded": pl.Boolean(), "owning_la": pl.Utf8(),
                            "retained_to_25": pl.Boolean()}), now)
                _settle_held(conn, key, new_key, "clerical_new", now)
        return DecisionResult(item_id, "different", None, False)
    a, b = history.resolve_key(conn, child_l), history.resolve_key(conn, child_r)
    if a.key == b.key:
        history.unmerge(conn, a.key, [right], to_new=True, actor=actor,
                        reason=reason or "review: different", now=now)
    return DecisionResult(item_id, "different", None, False)
