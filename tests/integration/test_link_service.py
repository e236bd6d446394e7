"""The link service on SQLite and PostgreSQL, with a simple stand-in matcher.

The stand-in has the engine's call shape: records sharing an NHS number, or exact given name +
family name + DOB, are one person (p = 0.99); same family name + DOB only is the clerical band
(p = 0.85). Real-engine runs are in ``test_link_engine.py``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Connection, func, insert, select, update

from contactpoint.db.tables import child, extract, record_link, source, source_record
from contactpoint.domain.identifiers import format_child_id, nhs_check_digit
from contactpoint.errors import Conflict, NotFound
from contactpoint.linking import history, review, service, store
from contactpoint.linking.tables import link_event, merge_event, review_decision, review_item
from contactpoint.matching.engine import (
    CLUSTERS_SCHEMA,
    MATCH_NEW_SCHEMA,
    REVIEW_SCHEMA,
    LinkResult,
)
from contactpoint.matching.frame import Existing
from contactpoint.matching.prepared import StaleStore
from engine_store import store_rows
from links import child_of, queue, queued

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
_hashes = itertools.count()


def nhs(seed: int) -> str:
    for n in itertools.count(seed * 1000 + 100_000_000):
        body = f"{n:09d}"
        check = nhs_check_digit(body)
        if check is not None:
            return body + str(check)
    raise AssertionError


def add_extract(
    conn: Connection, source_code: str = "NHS-PDS", on: date = date(2026, 11, 1)
) -> int:
    if conn.execute(select(source.c.code).where(source.c.code == source_code)).first() is None:
        conn.execute(insert(source).values(code=source_code, recognised=True, registered_at=NOW))
    return int(
        conn.execute(
            insert(extract)
            .values(
                source_code=source_code,
                file_name="f.csv",
                content_hash=f"h{next(_hashes)}-{id(conn)}",
                format="csv",
                extract_type="delta",
                extract_date=on,
                imported_at=NOW,
                rows_read=0,
                rows_landed=0,
                rows_rejected=0,
                rows_retired=0,
            )
            .returning(extract.c.id)
        ).scalar_one()
    )


def add_record(
    conn: Connection,
    eid: int,
    srid: str,
    given: str,
    family: str,
    dob: date,
    source_code: str = "NHS-PDS",
    **more: Any,
) -> int:
    values = {
        "source_code": source_code,
        "source_record_id": srid,
        "record_status": "active",
        "given_name": given,
        "family_name": family,
        "date_of_birth": dob,
        "carers": more.pop("carers", []),
        "involvements": more.pop("involvements", []),
        "first_extract_id": eid,
        "extract_id": eid,
        "content_hash": srid,
        "updated_at": NOW,
        **more,
    }
    key = int(
        conn.execute(
            insert(source_record).values(**values).returning(source_record.c.id)
        ).scalar_one()
    )
    queue(conn, key)
    return key


class StandIn:
    """Exact-rule matcher with the engine's call shape."""

    version = "stand-in-1"

    @staticmethod
    def _key(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(
            (
                pl.col("given_name").str.to_lowercase()
                + "|"
                + pl.col("family_name").str.to_lowercase()
                + "|"
                + pl.col("date_of_birth").cast(pl.Utf8)
            ).alias("exact"),
            (
                pl.col("family_name").str.to_lowercase()
                + "|"
                + pl.col("date_of_birth").cast(pl.Utf8)
            ).alias("loose"),
        )

    def dedupe(self, records: pl.LazyFrame, workdir: Path) -> LinkResult:
        df = self._key(records.collect()).sort("record_key")
        parent = {k: k for k in df["record_key"].to_list()}

        def find(x: int) -> int:
            while parent[x] != x:
                x = parent[x]
            return x

        for col in ("exact", "nhs_number"):
            for _, group in df.filter(pl.col(col).is_not_null()).group_by(col):
                keys = group["record_key"].to_list()
                for k in keys[1:]:
                    a, b = find(keys[0]), find(k)
                    parent[max(a, b)] = min(a, b)
        clusters = pl.DataFrame(
            {"record_key": list(parent), "cluster_key": [find(k) for k in parent]},
            schema=CLUSTERS_SCHEMA,
        )
        df = df.join(clusters, on="record_key")
        pairs = df.join(df, on="loose", suffix="_r").filter(
            (pl.col("record_key") < pl.col("record_key_r"))
            & (pl.col("cluster_key") != pl.col("cluster_key_r"))
        )
        review_pairs = pairs.select(
            pl.col("record_key").alias("record_key_l"),
            "record_key_r",
            pl.lit(0.85).alias("match_probability"),
            pl.lit("clerical_band").alias("reason"),
        ).cast(REVIEW_SCHEMA)  # type: ignore[arg-type]
        return LinkResult(clusters, review_pairs)

    def existing_mark(self) -> str | None:
        return None  # holds nothing between runs: every run gets the existing records in full

    def keep_existing(self, existing: Existing) -> None:
        return None

    def match_new(self, existing: Existing, new: pl.DataFrame, workdir: Path) -> pl.DataFrame:
        assert existing.complete
        ex = self._key(existing.records)
        rows = []
        nk = self._key(new)
        first_new: dict[str, int] = {}
        for r in nk.sort("record_key").iter_rows(named=True):
            same_nhs = (
                (pl.col("nhs_number") == r["nhs_number"]) if r["nhs_number"] else pl.lit(False)
            )
            hit = ex.filter((pl.col("exact") == r["exact"]) | same_nhs)
            loose = ex.filter(pl.col("loose") == r["loose"])
            ncl = first_new.setdefault(r["exact"], r["record_key"])
            if hit.height:
                rows.append((r["record_key"], "link", hit["child_key"][0], 0.99, ncl))
            elif loose.height:
                rows.append((r["record_key"], "review", loose["child_key"][0], 0.85, ncl))
            else:
                rows.append((r["record_key"], "new", None, 0.0, ncl))
        return pl.DataFrame(rows, schema=MATCH_NEW_SCHEMA, orient="row")


def run(conn: Connection, tmp_path: Path) -> service.LinkSummary:
    return service.link(conn, StandIn(), workdir=tmp_path, now=NOW)


def amy_and_aimee(connection: Connection, tmp_path: Path) -> tuple[int, int, int, int]:
    """Two near-identical records the stand-in keeps apart (the clerical band), linked:
    ``(record a, record b, child of a, child of b)``."""
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    b = add_record(connection, e, "2", "Aimee", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    ca, cb = child_of(connection, a), child_of(connection, b)
    assert ca is not None
    assert cb is not None
    return a, b, ca, cb


def test_first_run_clusters_and_creates_children(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), nhs_number=nhs(1))
    b = add_record(connection, e, "2", "Amy", "Stone", date(2015, 3, 1))
    c = add_record(connection, e, "3", "Ben", "Stone", date(2015, 3, 1))
    s = run(connection, tmp_path)
    assert (s.mode, s.records_in, s.records_linked, s.children_created) == ("initial", 3, 3, 2)
    assert child_of(connection, a) == child_of(connection, b) != child_of(connection, c)
    ids = connection.execute(select(child.c.id, child.c.child_id)).all()
    assert all(format_child_id(int(i)) == cid for i, cid in ids)
    assert s.review_items == 2  # Amy/Ben Stone, same DOB: a human looks at both pairs
    assert queued(connection) == set()
    events = connection.execute(select(link_event.c.model_version, link_event.c.kind)).all()
    assert len(events) == 3
    assert {e[0] for e in events} == {"stand-in-1"}


class _StoreFails(StandIn):
    """The stand-in whose store cannot take the records in (a full disk, say)."""

    def keep_existing(self, existing: Existing) -> None:
        assert existing.complete
        assert existing.records.height == 3
        raise OSError("no space left on the store's device")


def test_a_first_run_whose_store_update_fails_fails_whole(
    connection: Connection, tmp_path: Path
) -> None:
    """A first run whose engine store cannot take its records in fails whole: nothing of the
    run is kept, and the next run does it all."""
    e = add_extract(connection)
    keys = [add_record(connection, e, str(i), name, "Stone", date(2015, 3, 1))
            for i, name in enumerate(["Amy", "Amy", "Ben"])]
    outer = connection.begin_nested()
    with pytest.raises(OSError, match="no space left"):
        service.link(connection, _StoreFails(), workdir=tmp_path, now=NOW)
    outer.rollback()
    assert all(child_of(connection, k) is None for k in keys)
    assert queued(connection) == set(keys)
    assert run(connection, tmp_path).children_created == 2  # and the next run does it all


def test_incremental_run_links_only_pending(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    e2 = add_extract(connection, "DFE-CENSUS")
    b = add_record(connection, e2, "x1", "Amy", "Stone", date(2015, 3, 1), source_code="DFE-CENSUS")
    c = add_record(connection, e2, "x2", "Cara", "Lake", date(2014, 1, 2), source_code="DFE-CENSUS")
    d = add_record(connection, e2, "x3", "Cara", "Lake", date(2014, 1, 2), source_code="DFE-CENSUS")
    s = run(connection, tmp_path)
    assert s.mode == "incremental"
    assert s.records_in == 3
    assert s.children_created == 1
    assert child_of(connection, a) == child_of(connection, b)
    assert child_of(connection, c) == child_of(connection, d) != child_of(connection, a)
    again = run(connection, tmp_path)
    assert again.records_in == 0
    assert again.run_id is None


def test_review_decision_same_merges_and_old_id_redirects(
    connection: Connection, tmp_path: Path
) -> None:
    a, b, ca, cb = amy_and_aimee(connection, tmp_path)
    assert ca != cb
    connection.execute(update(child).where(child.c.id == cb).values(shielded=True, owning_la="202"))
    (item,) = review.list_items(connection)
    result = review.decide(connection, item.id, "same", actor="tester", reason="same child")
    assert result.merged
    assert child_of(connection, a) == child_of(connection, b) == ca
    survivor = history.child_by_key(connection, ca)
    assert survivor.shielded
    assert survivor.owning_la == "202"
    gone = history.child_by_key(connection, cb)
    assert gone.status == "merged"
    assert gone.merged_into_id == ca
    assert history.resolve_child(connection, gone.child_id).key == ca
    assert connection.execute(select(func.count()).select_from(merge_event)).scalar() == 1
    assert review.list_items(connection) == []
    with pytest.raises(Conflict):
        review.decide(connection, item.id, "different")


def test_review_decision_different_is_a_veto_and_never_requeued(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    b = add_record(connection, e, "2", "Aimee", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    (item,) = review.list_items(connection)
    review.decide(connection, item.id, "different", reason="twins")
    # the feed sends Aimee again, changed: the pair is not queued again, nor linked
    connection.execute(
        update(source_record)
        .where(source_record.c.id == b)
        .values(given_name="Aimee")
    )
    queue(connection, b)
    run(connection, tmp_path)
    assert review.list_items(connection, status="all")[0].status == "decided"
    assert connection.execute(select(func.count()).select_from(review_item)).scalar() == 1
    assert child_of(connection, a) != child_of(connection, b)
    # a new record exactly like Amy's but vetoed against her child goes to a new child
    c = add_record(connection, e, "3", "Aimee", "Stone", date(2015, 3, 1))
    connection.execute(
        insert(review_decision).values(
            record_key_l=a, record_key_r=c, outcome="different", decided_at=NOW
        )
    )
    connection.execute(
        insert(review_decision).values(
            record_key_l=b, record_key_r=c, outcome="different", decided_at=NOW
        )
    )
    run(connection, tmp_path)
    assert child_of(connection, c) not in (child_of(connection, a), child_of(connection, b))


def test_different_nhs_numbers_never_auto_link(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), nhs_number=nhs(1))
    run(connection, tmp_path)
    b = add_record(connection, e, "2", "Amy", "Stone", date(2015, 3, 1), nhs_number=nhs(2))
    s = run(connection, tmp_path)  # the stand-in says 'link'; the service refuses
    assert child_of(connection, a) != child_of(connection, b)
    assert s.review_items == 1
    (item,) = review.list_items(connection)
    assert item.cause == "nhs_conflict"
    with pytest.raises(Conflict, match="different NHS numbers"):
        review.decide(connection, item.id, "same")
    result = review.decide(connection, item.id, "same", force=True, reason="NHS number error")
    assert result.merged
    forced = connection.execute(select(merge_event.c.forced, merge_event.c.reason)).one()
    assert forced == (True, "NHS number error")


def test_initial_clusters_with_two_nhs_numbers_are_split() -> None:
    clusters = pl.DataFrame(
        {"record_key": [1, 2, 3, 4], "cluster_key": [1, 1, 1, 1]}, schema=CLUSTERS_SCHEMA
    )
    records = pl.DataFrame(
        {"record_key": [1, 2, 3, 4], "nhs_number": ["a", None, "b", "b"]},
        schema={"record_key": pl.Int64(), "nhs_number": pl.Utf8()},
    )
    out = service.split_identifier_conflicts(clusters, records).sort("record_key")
    assert out["cluster_key"].to_list() == [1, 1, 3, 3]


def test_weak_match_to_shielded_child_is_held_not_created(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    ca = child_of(connection, a)
    connection.execute(update(child).where(child.c.id == ca).values(shielded=True))
    children_before = connection.execute(select(func.count()).select_from(child)).scalar()
    b = add_record(connection, e, "2", "Amie", "Stone", date(2015, 3, 1))
    s = run(connection, tmp_path)
    assert s.records_held == 1
    assert child_of(connection, b) is None
    assert connection.execute(select(func.count()).select_from(child)).scalar() == children_before
    # a second run does not queue it again
    assert run(connection, tmp_path).review_items == 0
    (item,) = review.list_items(connection)
    assert item.cause == "shielded_candidate"
    assert item.right.child_id is None
    review.decide(connection, item.id, "same")
    assert child_of(connection, b) == ca
    assert history.child_by_key(connection, ca).shielded


def test_unmerge_restores_previous_child_and_keeps_the_shield(
    connection: Connection, tmp_path: Path
) -> None:
    a, b, ca, cb = amy_and_aimee(connection, tmp_path)
    connection.execute(
        update(child).where(child.c.id == ca).values(shielded=True, retained_to_25=True)
    )
    survivor = history.merge(connection, ca, cb, actor="t", now=NOW)
    restored = history.unmerge(connection, survivor.key, [b], actor="t", reason="error", now=NOW)
    assert restored.key == cb
    assert restored.status == "active"
    assert restored.merged_into_id is None
    assert restored.shielded
    assert restored.retained_to_25
    assert history.child_by_key(connection, ca).shielded
    assert child_of(connection, b) == cb
    assert child_of(connection, a) == ca
    kinds = [
        k for (k,) in connection.execute(select(merge_event.c.kind).order_by(merge_event.c.id))
    ]
    assert kinds == ["merge", "unmerge"]
    # history is appended, never rewritten: b has link, merge and unmerge events
    events = (
        connection.execute(
            select(link_event.c.kind).where(link_event.c.record_key == b).order_by(link_event.c.id)
        )
        .scalars()
        .all()
    )
    assert events == ["link", "merge", "unmerge"]
    # and a later run never rejoins them (unmerge remembered a veto)
    queue(connection, b)
    run(connection, tmp_path)
    assert child_of(connection, b) == cb
    with pytest.raises(NotFound):
        history.resolve_child(connection, "000000000000")


def test_unmerge_to_new_child_keeps_protections(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), nhs_number=nhs(3))
    b = add_record(connection, e, "2", "Amy", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    ca = child_of(connection, a)
    assert ca is not None
    assert ca == child_of(connection, b)
    connection.execute(update(child).where(child.c.id == ca).values(shielded=True, owning_la="303"))
    new = history.unmerge(connection, ca, [b], reason="two children", now=NOW)
    assert new.key != ca
    assert new.shielded
    assert new.owning_la == "303"


def test_retired_records_leave_their_child_archived_and_shield_survives_reimport(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    ca = child_of(connection, a)
    assert ca is not None
    connection.execute(update(child).where(child.c.id == ca).values(shielded=True))
    connection.execute(  # as the importer retires it: every feed change queues the record
        update(source_record).where(source_record.c.id == a).values(record_status="retired")
    )
    queue(connection, a)
    s = run(connection, tmp_path)
    assert s.children_archived == 1
    assert history.child_by_key(connection, ca).status == "archived"
    from contactpoint.linking.child_records import load_child_record

    with pytest.raises(NotFound):  # not live: no active source record
        load_child_record(connection, history.child_by_key(connection, ca).child_id)
    # the source sends her again under a new key: she is found (held or linked), never a new
    # unshielded child
    b = add_record(connection, e, "9", "Amy", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    assert child_of(connection, b) == ca
    row = history.child_by_key(connection, ca)
    assert row.status == "active"
    assert row.shielded
    # re-import of the same record (changed) keeps it on its child
    connection.execute(update(source_record).where(source_record.c.id == b).values(town="Leeds"))
    queue(connection, b)
    run(connection, tmp_path)
    assert child_of(connection, b) == ca
    assert history.child_by_key(connection, ca).shielded


def test_a_run_takes_retired_records_off_the_queue_with_a_retire_event(
    connection: Connection, tmp_path: Path
) -> None:
    """Retired and deleted records leave the queue (which would otherwise grow with every
    retirement) once a run has matched, so the engine's store took them in; one that had a
    child leaves a ``retire`` event, so a store at an older mark still sees it go."""
    e = add_extract(connection)
    add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    gone = add_record(connection, e, "2", "Gus", "Hill", date(2014, 1, 2))
    never = add_record(connection, e, "3", "Nia", "Ray", date(2013, 5, 6))
    connection.execute(  # deleted before any run linked it
        update(source_record).where(source_record.c.id == never).values(record_status="deleted"))
    run(connection, tmp_path)
    assert queued(connection) == set()  # a first run: no child, no event
    cg = child_of(connection, gone)
    assert cg is not None
    connection.execute(  # as the importer retires it: every feed change queues the record
        update(source_record).where(source_record.c.id == gone).values(record_status="retired"))
    queue(connection, gone)
    run(connection, tmp_path)
    assert queued(connection) == {gone}  # nothing was matched: the store has not seen it go
    bea = add_record(connection, e, "4", "Bea", "Cole", date(2016, 2, 3))
    run(connection, tmp_path)
    assert child_of(connection, bea) is not None
    assert queued(connection) == set()
    retire = select(link_event.c.record_key, link_event.c.child_key,
                    link_event.c.previous_child_key).where(link_event.c.kind == "retire")
    assert connection.execute(retire).all() == [(gone, cg, cg)]
    assert child_of(connection, gone) == cg  # the link itself is history: it stays


def test_store_round_trip_reads_a_valid_frame(connection: Connection) -> None:
    e = add_extract(connection)
    add_record(
        connection,
        e,
        "1",
        "Amy",
        "Stone",
        date(2015, 3, 1),
        postcode="LS1 1AA",
        carers=[{"name": "Jo Stone"}, {"name": "Al Stone"}],
    )
    df = store.read_pending(connection)
    assert df.height == 1
    row = df.row(0, named=True)
    assert row["date_of_birth"] == date(2015, 3, 1)
    assert row["carer_names"] == "Jo Stone|Al Stone"
    assert row["middle_names"] is None
    assert row["current_child_key"] is None


def test_vectorised_child_ids_match_the_domain() -> None:
    import numpy as np

    seqs = np.array([1, 9, 10, 12345, 99_999_999_999, 4_000_000])
    assert store.child_ids_for(seqs) == [format_child_id(int(s)) for s in seqs]


def test_store_kept_by_changes_equals_one_read_in_full(
    connection: Connection, tmp_path: Path
) -> None:
    from contactpoint.db.base import utcnow
    from contactpoint.linking import snapshot
    from contactpoint.matching import engine

    e = add_extract(connection)
    keys = [add_record(connection, e, str(i), g, "Stone", date(2015, 3, i + 1))
            for i, g in enumerate(["Amy", "Ben", "Cara", "Dan"])]
    service.link(connection, StandIn(), workdir=tmp_path)
    kept = tmp_path / "kept"
    engine.keep_existing(snapshot.read_existing(connection, None), kept)
    mark = engine.existing_mark(kept)
    assert mark is not None
    assert snapshot.read_existing(connection, mark).records.height == 0  # nothing changed
    c0, c1, c2 = (child_of(connection, k) for k in keys[:3])
    assert c0 is not None
    assert c1 is not None
    assert c2 is not None
    # things change: a shield, a merge, a retirement, a new record linked
    connection.execute(update(child).where(child.c.id == c0).values(shielded=True))
    history.merge(connection, c1, c2)
    # a retirement exactly as the importer writes it: every feed change queues the record
    connection.execute(update(source_record).where(source_record.c.id == keys[3])
                       .values(record_status="retired", updated_at=utcnow()))
    queue(connection, keys[3])
    eve = add_record(connection, e, "9", "Eve", "Lake", date(2016, 1, 1))
    service.link(connection, StandIn(), workdir=tmp_path)
    changes = snapshot.read_existing(connection, mark)
    assert not changes.complete
    assert changes.changed is not None
    assert {keys[3], eve} <= set(changes.changed.to_list())
    engine.keep_existing(changes, kept)
    engine.keep_existing(snapshot.read_existing(connection, None), tmp_path / "full")
    got = store_rows(kept)
    assert got == store_rows(tmp_path / "full")
    assert [r[0] for r in got] == [keys[0], keys[1], keys[2], eve]  # the retired one is gone
    assert [r[-1] for r in got] == [True, False, False, False]  # the shield came through
    with pytest.raises(StaleStore):  # changes against a state the store is not at
        engine.keep_existing(changes, kept)
    assert store_rows(kept) == got  # and nothing was changed by the refusal


@pytest.mark.parametrize("table", ["link_event", "merge_event", "review_decision"])
def test_history_tables_are_append_only(engine: Any, tmp_path: Path, table: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as conn:
        conn.begin()
        e = add_extract(conn)
        a = add_record(conn, e, "1", "Amy", "Stone", date(2015, 3, 1))
        b = add_record(conn, e, "2", "Amy", "Stone", date(2015, 3, 1))
        run(conn, tmp_path)
        ca = child_of(conn, a)
        assert ca is not None
        history.unmerge(conn, ca, [b], reason="test")
        assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() > 0
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            nested = conn.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(sql))
            nested.rollback()
        conn.rollback()


def _dangling_child_refs(conn: Connection) -> int:
    """record_link has no foreign keys (migration 0011): nothing may dangle."""
    return int(conn.execute(
        select(func.count()).select_from(record_link).where(
            ~select(child.c.id).where(child.c.id == record_link.c.child_key).exists()
            | ~select(source_record.c.id).where(
                source_record.c.id == record_link.c.record_key).exists()
        )
    ).scalar_one())


def test_link_merge_and_unmerge_never_leave_a_dangling_child_reference(
    connection: Connection, tmp_path: Path
) -> None:
    _, b, ca, cb = amy_and_aimee(connection, tmp_path)
    assert _dangling_child_refs(connection) == 0
    survivor = history.merge(connection, ca, cb, actor="t", now=NOW)
    assert _dangling_child_refs(connection) == 0
    history.unmerge(connection, survivor.key, [b], actor="t", reason="error", now=NOW)
    assert _dangling_child_refs(connection) == 0
    add_record(connection, add_extract(connection, "DFE-CENSUS"), "3", "Cara", "Lake",
               date(2014, 1, 2), source_code="DFE-CENSUS")
    run(connection, tmp_path)
    assert _dangling_child_refs(connection) == 0


def test_a_link_run_never_rewrites_a_source_record(connection: Connection, tmp_path: Path) -> None:
    """Links live in ``record_link`` and the queue in ``link_queue`` (migration 0011): a link
    run leaves every source record as the importer wrote it (a first run at 1 M children used
    to rewrite all 2.6 M of them)."""
    pg = connection.dialect.name == "postgresql"
    updates_sql = ("SELECT COALESCE(SUM(n_tup_upd), 0) FROM pg_stat_xact_user_tables "
                   "WHERE relname = 'source_record'")
    e = add_extract(connection)
    keys = [add_record(connection, e, str(i), g, "Stone", date(2015, 3, i + 1))
            for i, g in enumerate(["Amy", "Ben", "Cara"])]
    records = select(source_record).order_by(source_record.c.id)
    before = connection.execute(records).all()
    updates = connection.exec_driver_sql(updates_sql).scalar_one() if pg else None
    s = run(connection, tmp_path)
    assert s.records_linked == 3
    assert all(child_of(connection, k) is not None for k in keys)
    assert queued(connection) == set()
    assert connection.execute(records).all() == before
    if pg:
        assert connection.exec_driver_sql(updates_sql).scalar_one() == updates


def test_a_bulk_link_run_is_followed_by_a_vacuum(engine: Any) -> None:
    """After a run that rewrote many records, the rewritten tables are vacuumed (PostgreSQL):
    the next run must not walk millions of dead index entries."""
    assert not store.tidy_after_bulk(engine, store.TIDY_AFTER_ROWS - 1)
    if engine.dialect.name != "postgresql":
        assert not store.tidy_after_bulk(engine, store.TIDY_AFTER_ROWS)  # nothing to tidy
        return
    sql = "SELECT COALESCE(vacuum_count, 0) FROM pg_stat_user_tables WHERE relname = 'child'"
    with engine.connect() as conn:
        before = conn.exec_driver_sql(sql).scalar_one()
    assert store.tidy_after_bulk(engine, store.TIDY_AFTER_ROWS)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(sql).scalar_one() == before + 1


def test_key_lookup_planning_lasts_only_for_the_run(engine: Any) -> None:
    """An incremental run plans for key look-ups (PostgreSQL) inside its own transaction only:
    a pooled connection handed to anything else afterwards plans as configured."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        default = conn.exec_driver_sql("SHOW random_page_cost").scalar_one()
        conn.rollback()
        with conn.begin():
            store.plan_for_key_lookups(conn)
            assert conn.exec_driver_sql("SHOW random_page_cost").scalar_one() == "1.1"
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
        assert conn.exec_driver_sql("SHOW random_page_cost").scalar_one() == default
