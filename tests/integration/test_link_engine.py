"""The link service end to end with the real engine (Splink), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Connection, func, insert, select, update

from contactpoint.db.engine import make_engine
from contactpoint.db.tables import child, extract, source, source_record
from contactpoint.domain.identifiers import nhs_check_digit
from contactpoint.linking import exports, review, search_keys, service, snapshot
from contactpoint.linking.models import EngineMatcher
from contactpoint.linking.tables import link_event, search_key
from contactpoint.matching import engine
from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.frame import conform
from contactpoint.matching.metrics import pairwise_metrics
from engine_store import store_rows
from links import child_of, links, queue
from names import FAMILY, GIVEN

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
SOURCES = ["NHS-PDS", "DFE-CENSUS", "HMRC-CHB"]


def _population(n: int = 400, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for person in range(n):
        g, f = rng.choice(GIVEN), rng.choice(FAMILY)
        dob = date(2009, 1, 1) + timedelta(days=rng.randrange(5000))
        inward = f"{rng.randrange(1, 9)}{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}"
        postcode = f"LS{rng.randrange(1, 30)} {inward}"
        while True:
            body = f"{rng.randrange(10**8, 10**9):09d}"
            check = nhs_check_digit(body)
            if check is not None:
                nhs = body + str(check)
                break
        line = f"{rng.randrange(1, 200)} {rng.choice(['High', 'Mill', 'Park'])} Street"
        for src in rng.sample(SOURCES, rng.randrange(1, 4)):
            rows.append(
                {
                    "person": person,
                    "source_code": src,
                    "source_record_id": f"{src}-{person}",
                    "given_name": g if rng.random() > 0.1 else g + "e",
                    "family_name": f,
                    "date_of_birth": dob,
                    "sex": "F" if person % 2 else "M",
                    "postcode": postcode,
                    "address_line_1": line,
                    "nhs_number": nhs if src == "NHS-PDS" or rng.random() < 0.3 else None,
                }
            )
    return rows


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelArtefact]:
    """A model trained once on the synthetic population (the shipped default if present)."""
    if engine.DEFAULT_MODEL_PATH.exists():
        yield engine.load_model(None)
        return
    rows = _population()
    frame = conform(
        pl.DataFrame(
            [
                {k: v for k, v in r.items() if k not in ("person", "source_record_id")}
                | {"record_key": i + 1}
                for i, r in enumerate(rows)
            ]
        )
    )
    yield engine.train(frame, tmp_path_factory.mktemp("model"))


def _load(conn: Connection, rows: list[dict[str, object]]) -> dict[int, int]:
    """Insert rows as pending source records; returns record key -> person."""
    for code in SOURCES:
        conn.execute(insert(source).values(code=code, recognised=True, registered_at=NOW))
    eids = {
        code: int(
            conn.execute(
                insert(extract)
                .values(
                    source_code=code,
                    file_name=f"{code}.csv",
                    content_hash=f"engine-{code}",
                    format="csv",
                    extract_type="full",
                    extract_date=date(2026, 11, 1),
                    imported_at=NOW,
                    rows_read=0,
                    rows_landed=0,
                    rows_rejected=0,
                    rows_retired=0,
                )
                .returning(extract.c.id)
            ).scalar_one()
        )
        for code in SOURCES
    }
    truth = {}
    for r in rows:
        values = {k: v for k, v in r.items() if k != "person"}
        key = int(
            conn.execute(
                insert(source_record)
                .values(
                    **values,
                    record_status="active",
                    carers=[],
                    involvements=[],
                    first_extract_id=eids[str(r["source_code"])],
                    extract_id=eids[str(r["source_code"])],
                    content_hash="x",
                    updated_at=NOW,
                )
                .returning(source_record.c.id)
            ).scalar_one()
        )
        queue(conn, key)
        truth[key] = int(str(r["person"]))
    return truth


def test_real_engine_links_and_protects_a_shielded_child(
    connection: Connection, tmp_path: Path, model: ModelArtefact
) -> None:
    rows = _population()
    truth = _load(connection, rows)
    matcher = EngineMatcher(model)
    summary = service.link(connection, matcher, workdir=tmp_path, now=NOW)
    assert summary.mode == "initial"
    assert summary.records_linked == len(rows)
    exported = exports.links_frame(connection)
    assert exported.height == len(rows)
    predicted = links(connection)
    m = pairwise_metrics(predicted, truth)
    assert m.precision >= 0.99, m
    assert m.recall >= 0.95, m

    # shield the child of person 0, then a weak near-duplicate arrives: same name and DOB,
    # elsewhere, no NHS number
    first = next(r for r in rows if r["person"] == 0)
    key0 = next(k for k, p in truth.items() if p == 0)
    shielded_child = child_of(connection, key0)
    connection.execute(update(child).where(child.c.id == shielded_child).values(shielded=True))
    eid = connection.execute(select(extract.c.id).limit(1)).scalar_one()
    dup = int(
        connection.execute(
            insert(source_record)
            .values(
                source_code="HMRC-CHB",
                source_record_id="late-1",
                record_status="active",
                given_name=first["given_name"],
                family_name=first["family_name"],
                date_of_birth=first["date_of_birth"],
                postcode="ZZ9 9ZZ",
                address_line_1="1 Far Lane",
                carers=[],
                involvements=[],
                first_extract_id=eid,
                extract_id=eid,
                content_hash="y",
                updated_at=NOW,
            )
            .returning(source_record.c.id)
        ).scalar_one()
    )
    queue(connection, dup)
    children_before = connection.execute(select(func.count()).select_from(child)).scalar_one()
    inc = service.link(connection, matcher, workdir=tmp_path, now=NOW)
    assert inc.mode == "incremental"
    assert inc.records_in == 1
    placed = child_of(connection, dup)
    # never a new, unshielded child: linked to the shielded child, or held for review
    assert placed in (None, shielded_child)
    assert (
        connection.execute(select(func.count()).select_from(child)).scalar_one() == children_before
    )
    if placed is None:
        held = [i for i in review.list_items(connection) if i.cause == "shielded_candidate"]
        assert len(held) == 1
    assert connection.execute(
        select(child.c.shielded).where(child.c.id == shielded_child)
    ).scalar_one()


def test_daily_runs_keep_the_engine_store_equal_to_the_database_even_after_a_rollback(
    connection: Connection, tmp_path: Path, model: ModelArtefact
) -> None:
    """The engine keeps the existing records between runs and takes only the changes since
    its mark. A run that rolls back after the store took its changes leaves the store at a
    committed state: the retried run decides the same, and the store, brought up to date as
    the next run would, equals one read in full from the database."""
    rows = _population(150, seed=11)
    first, day_two = rows[: len(rows) - 40], rows[len(rows) - 40:]
    _load(connection, first)
    kept = tmp_path / "engine"
    matcher = EngineMatcher(model, cache_dir=kept)
    assert service.link(connection, matcher, workdir=tmp_path, now=NOW).mode == "initial"
    assert matcher.existing_mark() is not None
    keys = list(_load_more(connection, day_two))

    attempt = connection.begin_nested()
    tried = service.link(connection, matcher, workdir=tmp_path, now=NOW)
    assert tried.mode == "incremental"
    decided = _children_of(connection, keys)
    attempt.rollback()
    assert all(c is None for c in _children_of(connection, keys).values())

    again = service.link(connection, matcher, workdir=tmp_path, now=NOW)
    assert again.records_linked == tried.records_linked
    assert _same_partition(_children_of(connection, keys), decided)
    # the store is brought up to date at the start of a run: do what the next run does first
    changes = snapshot.read_existing(connection, matcher.existing_mark())
    assert not changes.complete
    matcher.keep_existing(changes)
    engine.keep_existing(snapshot.read_existing(connection, None), tmp_path / "full")
    assert store_rows(kept) == store_rows(tmp_path / "full")


def _load_more(conn: Connection, rows: list[dict[str, object]]) -> list[int]:
    """More pending records, of sources that already exist."""
    eids = {code: int(conn.execute(select(func.max(extract.c.id)).where(
        extract.c.source_code == code)).scalar_one()) for code in SOURCES}
    keys = []
    for r in rows:
        values = {k: v for k, v in r.items() if k != "person"}
        keys.append(int(conn.execute(
            insert(source_record).values(
                **values, record_status="active", carers=[], involvements=[],
                first_extract_id=eids[str(r["source_code"])],
                extract_id=eids[str(r["source_code"])], content_hash="x",
                updated_at=NOW,
            ).returning(source_record.c.id)
        ).scalar_one()))
    queue(conn, *keys)
    return keys


def _children_of(conn: Connection, keys: list[int]) -> dict[int, int | None]:
    got = links(conn)
    return {k: got.get(k) for k in keys}


def _same_partition(a: dict[int, int | None], b: dict[int, int | None]) -> bool:
    """The same records together (new children get new ids on a retry)."""
    def groups(m: dict[int, int | None]) -> set[frozenset[int]]:
        by: dict[int | None, set[int]] = {}
        for k, c in m.items():
            by.setdefault(c, set()).add(k)
        return {frozenset(g) for g in by.values()}

    return groups(a) == groups(b)


def _re_read(summary: service.LinkSummary) -> int:
    """How many existing records the run read again (its matching step says)."""
    step = next(s for s, _ in summary.phases if s.startswith("matching "))
    return int(step.split("(")[1].split(" ")[0].replace(",", ""))


def _last_event(conn: Connection) -> int:
    return int(conn.execute(select(func.max(link_event.c.id))).scalar_one())


def test_a_store_kept_after_the_commit_decides_as_one_that_reads_the_run_again(
    fresh_db_url: str, tmp_path: Path, model: ModelArtefact
) -> None:
    """After a committed run the store takes in the records the run linked (new ones, and a
    linked one that came back changed), marked at the state the run committed: it equals a
    store read in full, the next run reads none of them again, and decides as a run whose
    store reads them again."""
    db = make_engine(fresh_db_url)
    rows = _population(150, seed=13)
    first, day_one, day_two = rows[:-70], rows[-70:-35], rows[-35:]
    kept = tmp_path / "kept"
    with db.begin() as conn:
        _load(conn, first)
        service.link(conn, EngineMatcher(model, cache_dir=kept), workdir=tmp_path, now=NOW)
    with db.begin() as conn:
        _load_more(conn, day_one)
        back = int(conn.execute(select(func.min(source_record.c.id))).scalar_one())
        conn.execute(update(source_record).where(source_record.c.id == back).values(
            given_name="Zebedee", content_hash="changed"))
        queue(conn, back)
    after: service.AfterCommit = []
    with db.begin() as conn:
        service.link(conn, EngineMatcher(model, cache_dir=kept), workdir=tmp_path, now=NOW,
                     after_commit=after)
    assert len(after) == 1
    shutil.copytree(kept, tmp_path / "reread")  # as the run left it: the next run reads it
    for step in after:
        step()
    with db.connect() as conn:
        mark = EngineMatcher(model, cache_dir=kept).existing_mark()
        assert mark is not None
        assert json.loads(mark)["last_event_id"] == _last_event(conn)
        engine.keep_existing(snapshot.read_existing(conn, None), tmp_path / "full")
    assert store_rows(kept) == store_rows(tmp_path / "full")

    with db.begin() as conn:
        _load_more(conn, day_two)
    decided: dict[str, dict[int, int | None]] = {}
    re_read: dict[str, int] = {}
    for name in ("reread", "kept"):
        with db.connect() as conn:
            trans = conn.begin()
            summary = service.link(conn, EngineMatcher(model, cache_dir=tmp_path / name),
                                   workdir=tmp_path, now=NOW)
            decided[name] = dict(links(conn))
            re_read[name] = _re_read(summary)
            trans.rollback()
    assert re_read["kept"] == 0
    assert re_read["reread"] >= len(day_one)  # day one's records (one changed), read again
    assert _same_partition(decided["kept"], decided["reread"])
    db.dispose()


def test_a_store_the_database_does_not_hold_is_never_taken_at_its_word(
    fresh_db_url: str, tmp_path: Path, model: ModelArtefact
) -> None:
    """A run that does not commit leaves the store where it was, even if its after-commit step
    runs; a mark naming an event the database does not hold (beyond its newest, or another
    record's) means every existing record is read again; so does content that changed under
    the run (no store update is offered)."""
    db = make_engine(fresh_db_url)
    rows = _population(120, seed=17)
    kept = tmp_path / "kept"
    matcher = EngineMatcher(model, cache_dir=kept)
    with db.begin() as conn:
        _load(conn, rows[:-30])
        service.link(conn, matcher, workdir=tmp_path, now=NOW)
    with db.begin() as conn:
        keys = _load_more(conn, rows[-30:])
    after: service.AfterCommit = []
    with db.connect() as conn:
        trans = conn.begin()
        service.link(conn, matcher, workdir=tmp_path, now=NOW, after_commit=after)
        trans.rollback()
    before = matcher.existing_mark()
    assert before is not None
    assert len(after) == 1
    for step in after:  # a caller that runs them though the run never committed
        step()
    assert matcher.existing_mark() == before
    with db.connect() as conn:
        held = json.loads(before)
        assert not snapshot.read_existing(conn, before).complete
        ahead = json.dumps(held | {"last_event_id": held["last_event_id"] + 1_000})
        assert snapshot.read_existing(conn, ahead).complete
        other = json.dumps(held | {"last_event_key": -1})
        assert snapshot.read_existing(conn, other).complete

    with db.begin() as conn:
        service.link(conn, matcher, workdir=tmp_path, now=NOW)
        pending = conn.execute(select(source_record.c.id).where(
            source_record.c.id.in_(keys))).scalars().all()
        linked = snapshot.read_existing(conn, None).records.filter(
            pl.col("record_key").is_in(pending)).drop("shielded")
        mark = matcher.existing_mark()
        assert mark is not None
        same = linked.with_columns(pl.lit("x").alias("content_hash"))
        assert snapshot.after_run(conn, mark, same) is not None
        moved_on = linked.with_columns(pl.lit("before the import").alias("content_hash"))
        assert snapshot.after_run(conn, mark, moved_on) is None
    db.dispose()


def test_a_first_run_whose_keys_were_built_beside_it_stores_the_records_own_keys(
    fresh_db_url: str, tmp_path: Path, model: ModelArtefact, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every first run builds its search keys beside itself on PostgreSQL here (the threshold
    at 0): what it stores equals the keys written again from the linked records."""
    monkeypatch.setattr(search_keys, "SIDE_BUILD_RECORDS", 0)
    db = make_engine(fresh_db_url)
    with db.begin() as conn:
        _load(conn, _population(60, seed=5))
        summary = service.link(conn, EngineMatcher(model), workdir=tmp_path, now=NOW)
    assert summary.mode == "initial"
    ordered = select(search_key).order_by(search_key.c.record_key)
    with db.begin() as conn:
        stored = [tuple(r) for r in conn.execute(ordered)]
        assert len(stored) == summary.records_linked > 0
        search_keys.rebuild(conn)  # the oracle: the keys of the records as linked
        assert [tuple(r) for r in conn.execute(ordered)] == stored
        if conn.dialect.name == "postgresql":
            assert conn.exec_driver_sql(
                "SELECT to_regclass('search_key_next') IS NULL").scalar_one()
        conn.rollback()
    db.dispose()
