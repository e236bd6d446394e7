"""The link run: pending source records -> child records, in three bands.

* First run (nothing linked yet): the engine clusters every pending record (``dedupe``); each
  cluster becomes a child; clerical-band pairs across clusters go to the review queue.
* Later runs: the engine matches only the pending records against the existing children
  (``match_new``); the nation is never re-clustered for a daily delta.

Bands: ``link`` joins the candidate child; ``review`` queues the pair for a human and gives the
record a provisional child of its own, except when the candidate is *shielded*: then the record
is held (no child, still pending) until a human decides, so a feed can never create a second,
unshielded record of a shielded child; ``new`` creates a child. Human decisions override the
engine: a *same* decision links the record to its partner's child, a *different* decision is a
veto (checked against every record of the candidate child). Two different NHS numbers are never
auto-linked, whatever the engine says. A record that was already linked and came back changed
stays on its child; if it now matches another child, the pair goes to review.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db.base import UTCDateTime, utcnow
from contactpoint.db.tables import link_queue, record_link, source_record
from contactpoint.linking import councils_at_once, responsibility, search_keys, snapshot, store
from contactpoint.linking.review import queue_pairs
from contactpoint.linking.tables import link_event, link_run, review_item
from contactpoint.matching.engine import KEY_COLUMNS, MATCH_NEW_SCHEMA, LinkResult
from contactpoint.matching.frame import RECORD_SCHEMA, Existing

Progress = Callable[[str], None]
AfterCommit = list[Callable[[], None]]  # steps the caller runs once the run has committed


class Matcher(Protocol):
    """What a link run needs from the engine (``EngineMatcher`` wraps the real one)."""

    @property
    def version(self) -> str: ...

    def dedupe(self, records: pl.LazyFrame, workdir: Path) -> LinkResult:
        """Cluster ``records`` (a plan the matcher collects itself: the engine can then let go
        of them while it scores, which a frame the caller holds would not allow)."""

    def existing_mark(self) -> str | None:
        """The mark of the existing records the engine holds (``None``: it holds none)."""

    def match_new(self, existing: Existing, new: pl.DataFrame, workdir: Path) -> pl.DataFrame: ...

    def keep_existing(self, existing: Existing) -> None:
        """Hold ``existing`` for the next run (after a first run)."""


@dataclass(frozen=True)
class LinkSummary:
    mode: str
    model_version: str
    records_in: int
    records_linked: int
    children_created: int
    review_items: int
    records_held: int
    children_archived: int
    seconds: float
    run_id: int | None
    phases: tuple[tuple[str, float], ...] = ()  # (step, seconds), in order
    engine: tuple[tuple[str, float], ...] = ()  # the engine's own steps (a first run)
    model_choice: str | None = None  # a first run: the model kept or trained, and why
    councils: responsibility.AllocationSummary | None = None  # responsible councils derived


def _quiet(_: str) -> None:
    return None


def link(
    conn: Connection,
    matcher: Matcher,
    *,
    workdir: Path | None = None,
    progress: Progress = _quiet,
    now: datetime | None = None,
    actor: str = "system:link",
    after_commit: AfterCommit | None = None,
) -> LinkSummary:
    """Link every pending source record. Runs inside the caller's transaction, and appends
    the run's audit entry there (``actor``: who started it).

    The matcher may keep the existing records between runs (:meth:`Matcher.existing_mark`);
    then only what changed since is read from the database (:mod:`.snapshot`).
    ``after_commit``: a list the run appends steps to that the caller runs, in order, once
    (and only if) its transaction has committed: an incremental run gives the matcher's store
    the records it linked, so the next run need not read and prepare them again (without it,
    the next run reads them; the same records either way).
    """
    started = time.perf_counter()
    marks: list[tuple[str, float]] = []

    def step(message: str) -> None:
        marks.append((message, time.perf_counter()))
        progress(message)

    def phases() -> tuple[tuple[str, float], ...]:
        ends = [t for _, t in marks[1:]] + [time.perf_counter()]
        return tuple((m, end - t) for (m, t), end in zip(marks, ends, strict=True))

    now = now or utcnow()
    store.lock_linkage(conn)  # one link run (or merge, or unmerge) at a time
    linked_any = conn.execute(select(record_link.c.record_key).limit(1)).first() is not None
    mode = "incremental" if linked_any else "initial"
    if mode == "incremental":  # from the queue on, this run reads and writes by key
        store.plan_for_key_lookups(conn)
        if search_keys.empty(conn):  # a database linked before search keys existed
            step("writing the search keys of every linked record")
            search_keys.rebuild(conn)
    events_before = responsibility.last_event_id(conn)  # what this run links, it writes after
    step("reading pending source records")
    pending = (store.read_pending(conn, with_hash=True) if mode == "incremental" else
               store.read_pending(conn, more=councils_at_once.EVIDENCE_FIELDS))
    records_in = pending.height
    if records_in == 0:
        archived = _archive_orphans(conn, now)
        councils = None
        if responsibility.never_allocated(conn):  # a database linked before councils were
            councils = responsibility.allocate(conn, None, now=now, actor=actor)
        summary = LinkSummary("incremental", matcher.version, 0, 0, 0, 0, 0, archived,
                              time.perf_counter() - started, None, phases(), councils=councils)
        _audit(conn, summary, actor)
        return summary
    run_id = int(conn.execute(
        insert(link_run).values(mode=mode, model_version=matcher.version, started_at=now,
                                records_in=records_in).returning(link_run.c.id)
    ).scalar_one())
    matched_at: str | None = None  # the mark an incremental run matched at
    # (a first run's search keys may still be building beside the run until the block ends)
    with tempfile.TemporaryDirectory(prefix="cp-link-", dir=workdir) as tmp, \
            ExitStack() as keys_beside:
        if mode == "initial":
            # a first run's records are its largest frame: on disk while the engine scores
            spilled = _spill(pending.drop("current_child_key"), Path(tmp))
            del pending
            counts = _initial(conn, spilled, matcher, Path(tmp), run_id, now, step,
                              keys_beside)
        else:
            counts, matched_at = _incremental(conn, pending, matcher, Path(tmp), run_id, now,
                                              step)
        step("archiving children left without active source records")
        archived = _archive_orphans(conn, now)
        step("deriving the responsible council of the children this run touched")
        touched = (None if mode == "initial" or responsibility.never_allocated(conn)
                   else responsibility.touched_since(conn, events_before))
        linked, created, reviews, held, engine_steps, _, known = counts
        councils = responsibility.allocate(conn, touched, now=now, run_id=run_id, actor=actor,
                                           known=known if touched is None else None)
        if mode == "initial":
            step("putting the search keys in place")
    store.refresh_statistics(conn, linked)
    conn.execute(update(link_run).where(link_run.c.id == run_id).values(
        finished_at=utcnow(), records_linked=linked, children_created=created,
        review_items=reviews, records_held=held, model_version=matcher.version))
    summary = LinkSummary(mode, matcher.version, records_in, linked, created, reviews,
                          held, archived, time.perf_counter() - started, run_id, phases(),
                          engine_steps, getattr(matcher, "model_choice", None), councils)
    _audit(conn, summary, actor)
    if after_commit is not None and matched_at is not None:
        kept = snapshot.after_run(conn, matched_at, pending.drop("current_child_key").join(
            counts[5], on="record_key"))
        if kept is not None:
            after_commit.append(partial(_keep_after_commit, conn.engine, matcher, kept))
    return summary


def _keep_after_commit(engine: Engine, matcher: Matcher, kept: Existing) -> None:
    """After the run's commit: the run's records into the matcher's store, in a transaction of
    its own holding the linkage lock, and only if nothing was linked or moved since the run
    (else the store stays at the run's starting mark, and the next run reads them)."""
    with engine.begin() as conn:
        store.lock_linkage(conn)
        if kept.mark is not None and snapshot.still_current(conn, kept.mark):
            matcher.keep_existing(kept)


def _audit(conn: Connection, summary: LinkSummary, actor: str) -> None:
    """The run's audit entry, in its own transaction (ids and counts only)."""
    trail.append(
        conn, action=AuditAction.LINK_RUN, actor=actor, organisation=None,
        subject=f"model:{summary.model_version}",
        details={"mode": summary.mode, "run_id": summary.run_id,
                 "records_in": summary.records_in, "records_linked": summary.records_linked,
                 "children_created": summary.children_created,
                 "review_items": summary.review_items, "records_held": summary.records_held,
                 "model_choice": summary.model_choice,
                 "council_transfers": summary.councils.transfers if summary.councils else 0,
                 "children_unallocated": (summary.councils.unallocated
                                          if summary.councils else None)},
    )


def _new_children(conn: Connection, n: int, now: datetime,
                  owning_la: list[str | None] | None = None,
                  keys: list[int] | None = None) -> list[int]:
    protections = pl.DataFrame(
        {"shielded": [False] * n, "owning_la": owning_la or [None] * n,
         "retained_to_25": [False] * n},
        schema={"shielded": pl.Boolean(), "owning_la": pl.Utf8(), "retained_to_25": pl.Boolean()},
    )
    return store.create_children(conn, protections, now, keys)


def split_identifier_conflicts(clusters: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Safety net: no cluster may hold two different NHS numbers. A cluster that does is split
    by NHS number; records without one stay with the group holding the cluster's smallest key."""
    nhs = clusters.join(records.select("record_key", "nhs_number"), on="record_key", how="left")
    bad = (
        nhs.filter(pl.col("nhs_number").is_not_null())
        .group_by("cluster_key").agg(pl.col("nhs_number").n_unique().alias("n"))
        .filter(pl.col("n") > 1)["cluster_key"]
    )
    if bad.len() == 0:
        return clusters
    part = nhs.filter(pl.col("cluster_key").is_in(bad.implode()))
    first_nhs = (
        part.filter(pl.col("nhs_number").is_not_null()).sort("record_key")
        .group_by("cluster_key", maintain_order=True).first()
        .select("cluster_key", pl.col("nhs_number").alias("anchor"))
    )
    part = part.join(first_nhs, on="cluster_key").with_columns(
        pl.coalesce("nhs_number", "anchor").alias("group")
    )
    part = part.with_columns(
        pl.col("record_key").min().over(["cluster_key", "group"]).alias("cluster_key")
    ).select("record_key", "cluster_key")
    return pl.concat([clusters.filter(~pl.col("cluster_key").is_in(bad.implode())), part])


# linked, children created, review items, held, the engine's steps, the records linked
# with their child (``record_key``, ``child_key``), and a first run's councils of its children
# (``councils_at_once.RESULT_SCHEMA``: their ``owning_la`` set as they were created)
Counts = tuple[int, int, int, int, tuple[tuple[str, float], ...], pl.DataFrame,
               pl.DataFrame | None]


def _spill(records: pl.DataFrame, workdir: Path) -> Path:
    """``records`` into an Arrow IPC file in ``workdir`` (read back by :func:`_initial`). It
    holds personal data: ``workdir`` is the run's temporary directory under the linkage
    directory (the protection of the engine's store), removed when the run ends."""
    path = workdir / "pending.arrow"
    records.write_ipc(path, compression="lz4")
    return path


def _initial(
    conn: Connection, spilled: Path, matcher: Matcher, workdir: Path, run_id: int,
    now: datetime, progress: Progress, keys_beside: ExitStack,
) -> Counts:
    """A first run over the records spilled to ``spilled`` (:func:`_spill`). The engine reads
    them itself, and nothing here holds them while it scores; they are read again after.
    The records' search keys are put in place when ``keys_beside`` closes (they may be built
    beside the rest of the run until then: :func:`search_keys.rebuilt_after`)."""
    records = pl.scan_ipc(spilled)
    n_records = records.select(pl.len()).collect().item()
    progress(f"clustering {n_records:,} source records")
    result = matcher.dedupe(records.select(list(RECORD_SCHEMA)), workdir)
    identifiers = records.select("record_key", "nhs_number").collect()
    clusters = split_identifier_conflicts(result.clusters, identifiers)
    del identifiers
    keys = clusters["cluster_key"].unique().sort()
    child_keys = store.reserve_child_keys(conn, keys.len())
    mapping = pl.DataFrame({"cluster_key": keys, "child_key": child_keys},
                           schema={"cluster_key": pl.Int64(), "child_key": pl.Int64()})
    child_of = clusters.join(mapping, on="cluster_key").select("record_key", "child_key")
    progress(f"writing search keys of {child_of.height:,} records")
    keys_beside.enter_context(search_keys.rebuilt_after(conn, child_of, result.search_keys))
    sizes = clusters.group_by("cluster_key").len()
    assign = (
        clusters.join(mapping, on="cluster_key").join(sizes, on="cluster_key")
        .select(
            "record_key", "child_key",
            pl.when(pl.col("len") > 1).then(pl.lit("auto")).otherwise(pl.lit("new")).alias("band"),
            pl.lit(None, dtype=pl.Float64()).alias("match_probability"),
        )
    )
    # the councils are derived in memory on a thread of their own while the database writes
    # the link decisions, which need no child row (the two took one core each, one after the
    # other; the engine's store brought up to date beside the children's creation was slower)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="councils") as beside:
        derived = beside.submit(councils_at_once.of_clusters, clusters,
                                records.select(councils_at_once.PENDING_COLUMNS),
                                councils_at_once.extract_dates(conn), now.date())
        progress(f"writing {assign.height:,} link decisions "
                 "(the council of every cluster derived beside them)")
        with store.indexes_built_after(conn, link_event, record_link):
            store.apply_assignments(conn, assign, kind="link", now=now, run_id=run_id,
                                    model_version=matcher.version)
        progress("deriving the responsible council of every cluster (what is left of it)")
        councils = keys.to_frame().join(derived.result(), on="cluster_key", how="left",
                                        maintain_order="left")
    progress(f"creating {keys.len():,} children")
    # their council set as they are created (not an UPDATE of every child after)
    _new_children(conn, keys.len(), now, councils["la_code"].to_list(), child_keys)
    known = councils.join(mapping, on="cluster_key").filter(
        pl.col("la_code").is_not_null()).select(list(councils_at_once.RESULT_SCHEMA))
    linked = records.select(list(RECORD_SCHEMA)).join(child_of.lazy(), on="record_key").collect()
    progress("keeping the existing records for the next run")  # every record is one now
    matcher.keep_existing(snapshot.whole(conn, linked.with_columns(
        pl.lit(False).alias("shielded"))))
    del linked
    store.dequeue_inactive(conn, now=now, run_id=run_id, model_version=matcher.version)
    rp = result.review_pairs
    pairs = rp.join(child_of.rename({"record_key": "record_key_r"}), on="record_key_r", how="left")
    reviews = queue_pairs(
        conn,
        pairs.select(
            "record_key_l", "record_key_r", "child_key", "match_probability",
            pl.col("reason").alias("cause"),
        ),
        run_id=run_id, model_version=matcher.version, now=now,
    )
    steps = tuple((k.removesuffix("_s"), float(v)) for k, v in result.stats.items()
                  if k.endswith("_s") and k != "total_s")
    return assign.height, keys.len(), reviews, 0, steps, child_of, known


def _decisions(conn: Connection, keys: list[int]) -> pl.DataFrame:
    """Latest human decision per pair touching ``keys``: ``record_key, other_key, outcome``."""
    schema = {"record_key_l": pl.Int64(), "record_key_r": pl.Int64(), "outcome": pl.Utf8(),
              "id": pl.Int64()}
    if not keys:
        return pl.DataFrame(schema={"record_key": pl.Int64(), "other_key": pl.Int64(),
                                    "outcome": pl.Utf8()})
    store.load_temp(conn, "tmp_pending_keys", pl.DataFrame({"k": keys}, schema={"k": pl.Int64()}))
    df = store.query_frame(
        conn,
        "SELECT record_key_l, record_key_r, outcome, id FROM review_decision WHERE "
        "record_key_l IN (SELECT k FROM tmp_pending_keys) OR "
        "record_key_r IN (SELECT k FROM tmp_pending_keys)",
        schema,
    )
    store.drop_temp(conn, "tmp_pending_keys")
    latest = df.sort("id").group_by(["record_key_l", "record_key_r"]).last()
    keyset = pl.Series(keys, dtype=pl.Int64()).implode()
    both = pl.concat([
        latest.select(pl.col("record_key_l").alias("record_key"),
                      pl.col("record_key_r").alias("other_key"), "outcome"),
        latest.select(pl.col("record_key_r").alias("record_key"),
                      pl.col("record_key_l").alias("other_key"), "outcome"),
    ])
    return both.filter(pl.col("record_key").is_in(keyset))


def _current_children(conn: Connection, keys: list[int]) -> dict[int, int]:
    if not keys:
        return {}
    rows = conn.execute(
        select(record_link.c.record_key, record_link.c.child_key)
        .join(source_record, source_record.c.id == record_link.c.record_key)
        .where(record_link.c.record_key.in_(keys), source_record.c.record_status == "active")
    ).all()
    return {int(r[0]): int(r[1]) for r in rows}


def _incremental(
    conn: Connection, pending: pl.DataFrame, matcher: Matcher, workdir: Path, run_id: int,
    now: datetime, progress: Progress,
) -> tuple[Counts, str | None]:
    """An incremental run; also the mark it matched at (the matcher's store holds it now)."""
    retired = search_keys.inactive_queued(conn)  # before the run takes them off the queue
    progress("reading what changed among the existing records")
    existing = snapshot.read_existing(conn, matcher.existing_mark())
    new = pending.drop("current_child_key", "content_hash", strict=False)
    progress(f"matching {new.height:,} records ({existing.records.height:,} existing re-read)")
    matched = matcher.match_new(existing, new, workdir)
    plan = matched.select(list(MATCH_NEW_SCHEMA)).join(
        pending.select("record_key", "current_child_key", "nhs_number"), on="record_key"
    ).sort("record_key")

    # what the humans said, and the children it points at
    decisions = _decisions(conn, plan["record_key"].to_list())
    partner_child = _current_children(conn, decisions["other_key"].unique().to_list())
    same_child: dict[int, int] = {}
    vetoed: set[tuple[int, int]] = set()
    for rk, other, outcome in decisions.iter_rows():
        target = partner_child.get(other)
        if target is None:
            continue
        if outcome == "different":
            vetoed.add((rk, target))
        else:
            same_child[rk] = target
    ex = store.read_children_records(
        conn, {*plan["child_key"].drop_nulls().to_list(), *same_child.values()}
    )
    rep = dict(ex.group_by("child_key").agg(pl.col("record_key").min()).iter_rows())
    shielded = set(ex.filter(pl.col("shielded"))["child_key"].unique().to_list())
    child_nhs: dict[int, set[str]] = {}
    for ck, nhs in ex.filter(pl.col("nhs_number").is_not_null()).select(
        "child_key", "nhs_number"
    ).unique().iter_rows():
        child_nhs.setdefault(ck, set()).add(nhs)

    assigned: list[tuple[int, int, str, float | None]] = []
    group_of: dict[int, int] = {}  # record -> new_cluster_key, for records needing a new child
    group_target: dict[int, int] = {}  # new_cluster_key -> child already chosen for the group
    group_band: dict[int, str] = {}
    reviews: list[tuple[int, int, int, float | None, str]] = []
    held: list[int] = []
    for rk, decision, ck, prob, ncl, cur, nhs in plan.iter_rows():
        cause = "shielded_candidate" if ck in shielded else "clerical_band"
        if rk in same_child and (rk, same_child[rk]) not in vetoed:
            decision, ck, cause = "clerical", same_child[rk], "decided_same"
        elif decision in ("link", "review") and (rk, ck) in vetoed:
            decision = "vetoed"
        elif decision == "link" and nhs is not None and child_nhs.get(ck, {nhs}) - {nhs}:
            decision, cause = "review", "nhs_conflict"
        if cur is not None:  # changed record, already linked: it stays on its child
            if decision in ("link", "review", "clerical") and ck != cur and ck in rep:
                reviews.append((rk, rep[ck], ck, prob, "moved" if decision == "link" else cause))
            assigned.append((rk, cur, "keep", prob))
            group_target.setdefault(ncl, cur)
            continue
        if decision in ("link", "clerical"):
            assigned.append((rk, ck, "auto" if decision == "link" else "clerical", prob))
        elif decision == "review" and ck in rep:
            reviews.append((rk, rep[ck], ck, prob, cause))
            if ck in shielded:
                held.append(rk)
            else:
                group_of[rk] = ncl
                group_band[rk] = "review"
        else:
            group_of[rk] = ncl
            group_band[rk] = "veto" if decision == "vetoed" else "new"
    need = sorted({g for g in group_of.values() if g not in group_target})
    created = _new_children(conn, len(need), now)
    group_target.update(zip(need, created, strict=True))
    probs = dict(zip(plan["record_key"].to_list(), plan["match_probability"].to_list(),
                     strict=True))
    for rk, g in group_of.items():
        assigned.append((rk, group_target[g], group_band[rk], probs.get(rk)))
    frame = pl.DataFrame(assigned, schema=store.ASSIGN_SCHEMA, orient="row")
    progress(f"writing {frame.height:,} link decisions")
    store.apply_assignments(conn, frame, kind="link", now=now, run_id=run_id,
                            model_version=matcher.version)
    _reactivate(conn, frame["child_key"].unique().to_list(), now)
    progress("updating search keys")
    search_keys.refresh(conn, [*frame["record_key"].to_list(), *retired],
                        prepared=_prepared_keys(matched))
    review_frame = pl.DataFrame(
        [(min(a, b), max(a, b), c, p, cause) for a, b, c, p, cause in reviews if a != b],
        schema={"record_key_l": pl.Int64(), "record_key_r": pl.Int64(),
                "child_key": pl.Int64(), "match_probability": pl.Float64(), "cause": pl.Utf8()},
        orient="row",
    )
    queued = queue_pairs(conn, review_frame, run_id=run_id, model_version=matcher.version,
                         now=now)
    _supersede_holds(conn, [a[0] for a in assigned], now)
    _record_holds(conn, held, run_id, matcher.version, probs, now)
    # the store took in the retirements when it matched (match_new updates it first)
    store.dequeue_inactive(conn, now=now, run_id=run_id, model_version=matcher.version)
    return ((frame.height, len(created), queued, len(held), (),
             frame.select("record_key", "child_key"), None), existing.mark)


def _prepared_keys(matched: pl.DataFrame) -> pl.DataFrame | None:
    """The search keys the engine made while matching, if it hands them back."""
    if not set(KEY_COLUMNS) <= set(matched.columns):
        return None
    return matched.select("record_key", *KEY_COLUMNS)


def _record_holds(conn: Connection, held: list[int], run_id: int, version: str,
                  probs: dict[int, float | None], now: datetime) -> None:
    """One ``hold`` event per record newly held for review (not again on later runs)."""
    if not held:
        return
    already = set(conn.execute(
        select(link_event.c.record_key).where(
            link_event.c.record_key.in_(held), link_event.c.kind == "hold")
    ).scalars())
    rows = [
        {"record_key": rk, "child_key": None, "previous_child_key": None, "kind": "hold",
         "band": "review", "match_probability": probs.get(rk), "model_version": version,
         "run_id": run_id, "created_at": now}
        for rk in held if rk not in already
    ]
    if rows:
        conn.execute(insert(link_event), rows)


def _supersede_holds(conn: Connection, settled: list[int], now: datetime) -> None:
    """Open shield holds of records that have now found a child are moot. (The open holds
    are few: they are read whole rather than searched for thousands of settled keys.)"""
    if not settled:
        return
    holds = conn.execute(
        select(review_item.c.id, review_item.c.record_key_l, review_item.c.record_key_r).where(
            review_item.c.status == "open", review_item.c.cause == "shielded_candidate")
    ).all()
    keys = set(settled)
    moot = [i for i, left, right in holds if left in keys or right in keys]
    for start in range(0, len(moot), 5000):
        conn.execute(update(review_item).where(review_item.c.id.in_(moot[start:start + 5000]))
                     .values(status="superseded", closed_at=now))


def _reactivate(conn: Connection, child_keys: list[int], now: datetime) -> None:
    """A child that had gone dormant (no active records) is live again once one links to it."""
    if not child_keys:
        return
    for start in range(0, len(child_keys), 5000):
        conn.execute(
            text("UPDATE child SET status = 'active', updated_at = :now "
                 "WHERE status = 'archived' AND id IN :keys").bindparams(
                bindparam("now", now, type_=UTCDateTime()),
                bindparam("keys", child_keys[start:start + 5000], expanding=True)))


def _archive_orphans(conn: Connection, now: datetime) -> int:
    """Children with no active source record left (every source deleted or retired it) are
    not live: they become ``archived`` (the row, its shield and its history stay). A retired or
    deleted record stays on ``link_queue`` (only linking an active record takes it off), so the
    candidates come from the small queue, not a scan of every record."""
    result = conn.execute(
        text(
            "UPDATE child SET status = 'archived', updated_at = :now WHERE status = 'active' "
            "AND id IN (SELECT l.child_key FROM link_queue q "
            "JOIN record_link l ON l.record_key = q.record_key "
            "JOIN source_record r ON r.id = q.record_key WHERE r.record_status <> 'active') "
            "AND NOT EXISTS (SELECT 1 FROM record_link l JOIN source_record s "
            "ON s.id = l.record_key WHERE l.child_key = child.id AND s.record_status = 'active')"
        ).bindparams(bindparam("now", now, type_=UTCDateTime()))
    )
    return int(result.rowcount or 0)


def pending_count(conn: Connection) -> int:
    return int(conn.execute(
        select(func.count()).select_from(link_queue)
        .join(source_record, source_record.c.id == link_queue.c.record_key)
        .where(source_record.c.record_status == "active")
    ).scalar_one())


__all__ = ["LinkSummary", "Matcher", "link", "pending_count"]
