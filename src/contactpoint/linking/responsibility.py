"""The responsible council of each child, derived from its active source records at each link
run (and after a merge or unmerge) by the pure rule in :mod:`contactpoint.domain.responsibility`.

For each child considered: the evidence goes to ``child_responsibility`` (with its provenance),
``child.owning_la`` is set, and when the council changes from one to another (or to none) a
``council_transfer`` row and an audit entry record it; both councils see the transfer in their
work list. A child's first allocation is not a transfer, and a child left with no evidence
keeps the council it had (only evidence of another council moves it); a child that never had
evidence has none and is on the national report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Select, Text, bindparam, cast, func, insert, select, text

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.council.tables import child_responsibility, council_transfer
from contactpoint.db.base import UTCDateTime
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.domain.responsibility import (
    Evidence,
    Responsibility,
    district_table,
    evidence_from_record,
    responsible_council,
)
from contactpoint.linking import councils_at_once, store

CHUNK = 5000
Move = tuple[int, str | None, Responsibility]  # (child, council before, now)


@dataclass(frozen=True)
class AllocationSummary:
    children: int
    allocated: int  # with a council
    unallocated: int  # on the national report
    changed: int  # owning_la set or changed
    transfers: int  # from one council to another (or to none)


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def current_education_codes(involvements: Any, on: date) -> list[str]:
    """Organisation codes of the education involvements current on ``on`` (no end, or an end
    not yet passed). Only JSON that mentions education is parsed."""
    if involvements is None:
        return []
    if isinstance(involvements, str):
        if "education" not in involvements:
            return []
        involvements = json.loads(involvements)
    out = []
    for item in involvements:
        if not isinstance(item, dict) or item.get("service_type") != "education":
            continue
        code, end = item.get("org_code"), item.get("end")
        if code and (end is None or _date(end) >= on):
            out.append(str(code))
    return out


def _chunks(keys: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(keys), CHUNK):
        yield keys[start:start + CHUNK]


def _evidence(conn: Connection, keys: list[int], today: date, *,
              extract_dates: dict[int, date]) -> dict[int, list[Evidence]]:
    """Evidence from the active records of ``keys`` (sorted: the children a later run touched;
    a first run reads every child's through :func:`_evidence_of_every_child`).

    Two single-table look-ups by index (links by child, then records by primary key) rather
    than one join: with stale planner statistics PostgreSQL planned the join as a scan of every
    source record per chunk (1.6 s a chunk at 52 k records)."""
    rl = record_link.c
    links = select(rl.record_key, rl.child_key).where(rl.child_key.in_(keys))
    wanted = set(keys)
    child_of = {int(r): int(c) for r, c in conn.execute(links) if int(c) in wanted}
    s = source_record.c
    records = select(s.id, s.source_code, s.source_record_id, s.upn, s.postcode,
                     cast(s.involvements, Text), s.extract_id, s.record_status)
    table = district_table()
    out: dict[int, list[Evidence]] = {}
    record_keys = sorted(child_of)
    for start in range(0, len(record_keys), 10_000):
        part = record_keys[start:start + 10_000]
        for rk, code, srid, upn, postcode, inv, eid, status in conn.execute(
                records.where(s.id.in_(part))):
            if status != "active":
                continue
            found = evidence_from_record(
                source_code=code, source_record_id=srid, observed_on=extract_dates[int(eid)],
                upn=upn, postcode=postcode, education_codes=current_education_codes(inv, today),
                table=table)
            out.setdefault(child_of[int(rk)], []).extend(found)
    return out


def _every_child(conn: Connection, today: date,
                 extract_dates: dict[int, date],
                 known: pl.DataFrame | None) -> tuple[list[int], list[Move], pl.DataFrame]:
    """Every live child at once (a first run): the rule over frames
    (:mod:`.councils_at_once`), with the decisions to write; a child that moves from one council
    to another (none on a first run) is derived again by key for its transfer. ``known``: see
    :func:`allocate`."""
    previous = (store.child_frame(conn).filter(pl.col("status") == "active")
                .select("child_key", "owning_la"))
    decided = councils_at_once.every_child(conn, today, extract_dates, previous, known)
    moved = decided.filter(pl.col("moved"))
    moves: list[Move] = []
    if moved.height:
        keys = moved["child_key"].to_list()
        before = dict(moved.select("child_key", "previous").iter_rows())
        evidence = _evidence(conn, keys, today, extract_dates=extract_dates)
        moves = [(k, before[k], responsible_council(evidence.get(k, ()))) for k in keys]
    set_before = 0 if known is None else int(known["la_code"].is_not_null().sum())
    totals = [decided.height, int(decided["la_code"].is_not_null().sum()),
              int(decided["changed"].sum()) + set_before]
    return totals, moves, decided


def _stage_every(conn: Connection, decided: pl.DataFrame) -> None:
    for part in decided.drop("moved", "previous").iter_slices(100_000):  # CSV a part at a time
        store.append_rows(conn, _STAGE, part)


def _first_allocation(conn: Connection, decided: pl.DataFrame, known: pl.DataFrame | None) -> bool:
    """A first run's decisions (``known``) where nothing is recorded yet and no child's
    ``owning_la`` changes (each was set when the child was created): they can be written as
    they are. PostgreSQL only (``COPY`` takes the timestamp and JSON as text)."""
    return (known is not None and store.is_postgres(conn)
            and decided["changed"].sum() == 0 and never_allocated(conn))


def _write_first(conn: Connection, decided: pl.DataFrame, *, now: datetime,
                 run_id: int | None) -> None:
    """``COPY`` a first run's decisions into ``child_responsibility`` (its secondary index
    built and foreign key checked once after): the staged form's ``INSERT … SELECT`` with a
    JSON cast of every row was ~10 s at 1 M children."""
    rows = decided.select(
        "child_key", "la_code", "deciding_kind", "evidence",
        pl.lit(run_id, dtype=pl.Int64()).alias("run_id"),
        pl.lit(UTCDateTime().process_bind_param(now, conn.dialect).isoformat())  # type: ignore[union-attr]
        .alias("derived_at"))
    with (store.foreign_keys_checked_after(conn, child_responsibility),
          store.indexes_built_after(conn, child_responsibility)):
        for part in rows.iter_slices(100_000):  # CSV a part at a time
            store.append_rows(conn, "child_responsibility", part)


def _by_key(conn: Connection, live_q: Select[Any], keys: list[int],
            today: date, extract_dates: dict[int, date]) -> tuple[list[int], list[Move]]:
    """The children ``keys`` (a later run's few), a chunk at a time by key."""
    previous: dict[int, str | None] = {}
    for batch in _chunks(keys):
        previous.update({int(k): la for k, la in conn.execute(
            live_q.where(child.c.id.in_(batch)))})
    totals = [0, 0, 0]  # children, allocated, changed
    moves: list[Move] = []
    for batch in _chunks(sorted(previous)):
        evidence = _evidence(conn, batch, today, extract_dates=extract_dates)
        decided: dict[int, Responsibility] = {}
        for k in batch:
            found = responsible_council(evidence.get(k, ()))
            # no evidence never takes a council away: only evidence of another council does
            decided[k] = Responsibility(previous[k], ()) if found.la_code is None else found
        counts = _stage(conn, decided, previous)
        for n, c in enumerate(counts):
            totals[n] += c
        moves.extend((k, previous[k], r) for k, r in decided.items()
                     if r.la_code != previous[k] and previous[k] is not None)
    return totals, moves


def allocate(
    conn: Connection,
    child_keys: Iterable[int] | None,
    *,
    now: datetime,
    run_id: int | None = None,
    actor: str = "system:link",
    known: pl.DataFrame | None = None,
) -> AllocationSummary:
    """Derive the responsible council of ``child_keys`` (``None``: every active child, at
    once: :mod:`.councils_at_once`; otherwise a chunk of children at a time) and record it.
    ``known`` (with ``None`` only): the decisions of a first run's children
    (``councils_at_once.of_clusters`` by child key), their ``owning_la`` set when they were
    created from them; every other live child has no evidence. Runs in the caller's
    transaction; audits each transfer there."""
    keys = None if child_keys is None else sorted({int(k) for k in child_keys})
    if keys is not None and not keys:
        return AllocationSummary(0, 0, 0, 0, 0)
    live_q = select(child.c.id, child.c.owning_la).where(child.c.status == "active")
    extract_dates = councils_at_once.extract_dates(conn)
    if keys is None:
        totals, moves, decided = _every_child(conn, now.date(), extract_dates, known)
        if _first_allocation(conn, decided, known):
            # every row is new and no child's council changes: rows straight in, no staging
            _write_first(conn, decided, now=now, run_id=run_id)
        else:
            _stage_begin(conn)
            _stage_every(conn, decided)
            # its decisions checked against ``child`` in one join
            with store.foreign_keys_checked_after(conn, child_responsibility):
                _apply(conn, now=now, run_id=run_id)
    else:
        _stage_begin(conn)
        totals, moves = _by_key(conn, live_q, keys, now.date(), extract_dates)
        _apply(conn, now=now, run_id=run_id)
    for k, before, now_r in moves:  # a first allocation is not a transfer
        transfer(conn, k, before, now_r, now=now, run_id=run_id, actor=actor)
    children, allocated, changed = totals
    return AllocationSummary(children, allocated, children - allocated, changed, len(moves))


_INSERT = ("INSERT INTO child_responsibility (child_key, la_code, deciding_kind, evidence, "
           "run_id, derived_at) SELECT t.child_key, t.la_code, t.deciding_kind, {}, :run_id, "
           ":now FROM tmp_responsibility t")
_INSERT_PG = _INSERT.format("CAST(t.evidence AS JSON)")  # constant SQL, no input in it
_INSERT_SQLITE = _INSERT.format("t.evidence")


_STAGE = "tmp_responsibility"
_STAGE_SCHEMA: dict[str, pl.DataType] = {
    "child_key": pl.Int64(), "la_code": pl.Utf8(), "deciding_kind": pl.Utf8(),
    "evidence": pl.Utf8(), "changed": pl.Int64()}


def _stage_begin(conn: Connection) -> None:
    store.load_temp(conn, _STAGE, pl.DataFrame(schema=_STAGE_SCHEMA))


def _evidence_json(evidence: Iterable[Evidence]) -> str:
    """The stored ``evidence`` column: the JSON list of :meth:`Evidence.as_dict`, compact,
    joined from each piece's :meth:`Evidence.as_json` (``json.dumps`` of the dicts was a
    quarter of the Python time of a first run's council derivation)."""
    return "[" + ",".join([e.as_json() for e in evidence]) + "]"


def _stage(conn: Connection, decided: dict[int, Responsibility],
           previous: dict[int, str | None]) -> tuple[int, int, int]:
    """Add one chunk's decisions to the staging table (written by :func:`_apply`, once for the
    whole run: one UPDATE of ``child`` a chunk cost a scan of ``child`` each, 0.35 s a chunk
    at 300 k children, growing with the population)."""
    keys = list(decided)
    changed = {k for k in keys if decided[k].la_code != previous[k]}
    frame = pl.DataFrame(
        {"child_key": keys,
         "la_code": [decided[k].la_code for k in keys],
         "deciding_kind": [d.kind.value if (d := decided[k].deciding) else None for k in keys],
         "evidence": [_evidence_json(decided[k].evidence) for k in keys],
         "changed": [1 if k in changed else 0 for k in keys]},
        schema=_STAGE_SCHEMA)
    store.append_rows(conn, _STAGE, frame)
    allocated = sum(1 for r in decided.values() if r.la_code is not None)
    return len(decided), allocated, len(changed)


def _apply(conn: Connection, *, now: datetime, run_id: int | None) -> None:
    """Write every staged decision: evidence rows and ``owning_la``, by three set-based
    statements (one UPDATE per council was 2.6 s a 20 k first run on PostgreSQL)."""
    store.analyze_temp(conn, _STAGE)
    params = [bindparam("now", now, type_=UTCDateTime()), bindparam("run_id", run_id)]
    insert_sql = _INSERT_PG if store.is_postgres(conn) else _INSERT_SQLITE
    conn.execute(text("DELETE FROM child_responsibility WHERE child_key IN "
                      "(SELECT child_key FROM tmp_responsibility)"))
    conn.execute(text(insert_sql).bindparams(*params))
    conn.execute(text(
        "UPDATE child SET owning_la = t.la_code, updated_at = :now FROM tmp_responsibility t "
        "WHERE child.id = t.child_key AND t.changed = 1").bindparams(params[0]))
    store.drop_temp(conn, _STAGE)


def transfer(conn: Connection, child_key: int, before: str | None, now_r: Responsibility, *,
             now: datetime, run_id: int | None, actor: str) -> int:
    """Record one transfer of responsibility (and its audit entry); returns its id."""
    evidence = [e.as_dict() for e in now_r.evidence[:1]]
    tid = int(conn.execute(insert(council_transfer).values(
        child_key=child_key, from_la=before, to_la=now_r.la_code, evidence=evidence,
        run_id=run_id, at=now).returning(council_transfer.c.id)).scalar_one())
    cid = conn.execute(select(child.c.child_id).where(child.c.id == child_key)).scalar_one()
    trail.append(conn, action=AuditAction.RESPONSIBILITY_TRANSFER, actor=actor,
                 organisation=None, subject=f"child:{cid}",
                 details={"from_la": before, "to_la": now_r.la_code, "transfer": tid,
                          "run_id": run_id,
                          "evidence": now_r.deciding.kind.value if now_r.deciding else None},
                 at=now)
    return tid


def last_event_id(conn: Connection) -> int:
    """The newest ``link_event`` id (0 for none): a run notes it before it writes any."""
    from contactpoint.linking.tables import link_event

    return int(conn.execute(select(func.max(link_event.c.id))).scalar() or 0)


def touched_since(conn: Connection, event_id: int) -> list[int]:
    """Children that link events after ``event_id`` linked a record to or took one from (a
    primary-key range: no scan of the whole history)."""
    from contactpoint.linking.tables import link_event

    e = link_event.c
    rows = conn.execute(
        select(e.child_key, e.previous_child_key).where(e.id > event_id)).all()
    return sorted({int(k) for pair in rows for k in pair if k is not None})


def never_allocated(conn: Connection) -> bool:
    """True before any child has been considered (the first run after 0019 considers all)."""
    return conn.execute(select(child_responsibility.c.child_key).limit(1)).first() is None


def evidence_of(conn: Connection, child_key: int) -> Responsibility | None:
    row = conn.execute(select(child_responsibility.c.la_code, child_responsibility.c.evidence)
                       .where(child_responsibility.c.child_key == child_key)).first()
    if row is None:
        return None
    data = json.loads(row[1]) if isinstance(row[1], str) else row[1]
    return Responsibility(row[0], tuple(Evidence.from_dict(d) for d in data))


__all__ = ["AllocationSummary", "allocate", "current_education_codes", "evidence_of",
           "last_event_id", "never_allocated", "touched_since", "transfer"]

