"""The link run keeps ``search_key`` current: first run, incremental run, retirements, merges and
unmerges (SQLite and PostgreSQL, the real engine with the shipped model)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, insert, select, update

from contactpoint.db.tables import extract, record_link, source, source_record
from contactpoint.domain.identifiers import nhs_check_digit
from contactpoint.linking import history, models, search_keys, service, store
from contactpoint.linking.tables import search_key
from contactpoint.matching import engine
from links import child_of, queue

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
_n = itertools.count()


def nhs(seed: int) -> str:
    for n in itertools.count(seed * 1000 + 300_000_000):
        check = nhs_check_digit(f"{n:09d}")
        if check is not None:
            return f"{n:09d}{check}"
    raise AssertionError


def add_extract(conn: Connection, code: str = "NHS-PDS") -> int:
    if conn.execute(select(source.c.code).where(source.c.code == code)).first() is None:
        conn.execute(insert(source).values(code=code, recognised=True, registered_at=NOW))
    return int(conn.execute(insert(extract).values(
        source_code=code, file_name="f.csv", content_hash=f"sk{next(_n)}-{id(conn)}",
        format="csv", extract_type="delta", extract_date=date(2026, 11, 1), imported_at=NOW,
        rows_read=0, rows_landed=0, rows_rejected=0, rows_retired=0,
    ).returning(extract.c.id)).scalar_one())


def add_record(conn: Connection, eid: int, srid: str, given: str, family: str, dob: date,
               source_code: str = "NHS-PDS", **more: Any) -> int:
    key = int(conn.execute(insert(source_record).values(
        source_code=source_code, source_record_id=srid, record_status="active",
        given_name=given, family_name=family, date_of_birth=dob, carers=[], involvements=[],
        first_extract_id=eid, extract_id=eid, content_hash=srid, updated_at=NOW, **more,
    ).returning(source_record.c.id)).scalar_one())
    queue(conn, key)
    return key


def run(conn: Connection, tmp_path: Path) -> service.LinkSummary:
    return service.link(conn, models.EngineMatcher(engine.load_model()), workdir=tmp_path,
                        now=NOW)


def keys(conn: Connection) -> dict[int, tuple[int, str | None, str | None]]:
    """record -> (child, sn, dob) as stored."""
    return {int(r): (int(c), sn, dob) for r, c, sn, dob in conn.execute(
        select(search_key.c.record_key, search_key.c.child_key, search_key.c.sn,
               search_key.c.dob))}


def linked(conn: Connection) -> dict[int, int]:
    return {int(r): int(c) for r, c in conn.execute(
        select(record_link.c.record_key, record_link.c.child_key)
        .join(source_record, source_record.c.id == record_link.c.record_key)
        .where(source_record.c.record_status == "active"))}


def test_runs_merges_and_retirements_keep_the_keys(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), nhs_number=nhs(1),
                   postcode="LS6 2AB")
    b = add_record(connection, e, "2", "Ben", "Lake", date(2014, 1, 2))
    run(connection, tmp_path)
    stored = keys(connection)
    assert {k: v[0] for k, v in stored.items()} == linked(connection)
    assert stored[a][1:] == ("stone", "2015-03-01")
    row = connection.execute(select(search_key).where(search_key.c.record_key == a)).one()
    assert (row.nhs, row.pc_district, row.fn_canon) == (nhs(1), "LS6", "amelia")  # nickname group

    # incremental: a new record, a changed one (new surname), a retired one
    e2 = add_extract(connection, "DFE-CENSUS")
    c = add_record(connection, e2, "x1", "Cara", "Moss", date(2013, 5, 6),
                   source_code="DFE-CENSUS")
    connection.execute(update(source_record).where(source_record.c.id == a)
                       .values(family_name="Stone-Hill"))
    queue(connection, a)
    connection.execute(update(source_record).where(source_record.c.id == b)
                       .values(record_status="retired"))
    queue(connection, b)
    run(connection, tmp_path)
    stored = keys(connection)
    assert set(stored) == {a, c}
    assert stored[a][1] == "stonehill"
    assert {k: v[0] for k, v in stored.items()} == linked(connection)

    # a merge moves the absorbed child's keys; an unmerge moves them back
    ca, cc = child_of(connection, a), child_of(connection, c)
    assert ca is not None
    assert cc is not None
    survivor = history.merge(connection, ca, cc, actor="t")
    assert {v[0] for v in keys(connection).values()} == {survivor.key}
    moved_back = history.unmerge(connection, survivor.key, [c if survivor.key == ca else a])
    assert {k: v[0] for k, v in keys(connection).items()} == linked(connection)
    assert moved_back.key in {v[0] for v in keys(connection).values()}


def test_a_database_linked_before_the_table_existed_gets_its_keys(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    run(connection, tmp_path)
    connection.execute(delete(search_key))
    assert search_keys.empty(connection)
    run(connection, tmp_path)  # nothing pending: the keys come back all the same
    assert set(keys(connection)) == {a}


def test_candidates_come_from_the_indexes_and_skip_merged_children(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), postcode="LS6 2AB")
    run(connection, tmp_path)
    q = engine.query_keys(engine.QueryRecord(given_name="Amy", family_name="Stone",
                                             date_of_birth=date(2015, 1, 3)))  # swapped
    found = search_keys.candidates(connection, search_keys.Retrieval(q))
    assert found["record_key"].to_list() == [a]
    assert found["shielded"].to_list() == [False]
    nothing = search_keys.candidates(connection, search_keys.Retrieval(engine.query_keys(
        engine.QueryRecord(given_name="Zed", family_name="Nobody",
                           date_of_birth=date(2015, 3, 1)))))
    assert nothing.height == 0


def test_refresh_stores_the_keys_it_is_given_and_prepares_only_the_others(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1))
    b = add_record(connection, e, "2", "Ben", "Lake", date(2014, 1, 2))
    c = add_record(connection, e, "3", "Cal", "Reed", date(2013, 5, 6))
    run(connection, tmp_path)
    stored = keys(connection)
    connection.execute(update(source_record).where(source_record.c.id == c)
                       .values(record_status="retired"))
    # keys made elsewhere for a (marked, to tell them apart) and for the retired c
    made = engine.search_keys(store.read_records(connection, f"s.id IN ({a}, {c})"))
    made = made.with_columns(pl.when(pl.col("record_key") == a).then(pl.lit("given"))
                             .otherwise(pl.col("sn")).alias("sn"))
    written = search_keys.refresh(connection, [a, b, c], prepared=made)
    after = keys(connection)
    assert written == 2
    assert after[a] == (stored[a][0], "given", "2015-03-01")  # stored as given
    assert after[b] == stored[b]  # read and prepared afresh
    assert c not in after  # retired: no keys, whatever was given
