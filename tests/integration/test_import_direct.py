"""The first load of a source goes straight into ``source_record`` (direct mode); it must
store exactly what the staged path stores, fall back to staging for duplicates and deletes,
and never leave a provenance reference dangling (those columns carry no FOREIGN KEY: ADR 0005).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from tests.integration.test_import_csv import child, load, records, write_feed

from contactpoint.db import migrate
from contactpoint.db.engine import make_engine
from contactpoint.db.tables import extract, source_record
from contactpoint.ingest.staging import Stager

ROWS = [child(f"K{i:03d}", given_name=f"Ann{i % 7}", family_name=f"Lee{i % 5}",
              parent_1_name=f"Parent {i}", service_type="education", service_org_code="107000")
        for i in range(60)]
HEADER = ["source_record_id", "record_status", "given_name", "family_name", "date_of_birth",
          "sex", "postcode", "nhs_number", "upn", "parent_1_name", "service_type",
          "service_org_code"]


@pytest.fixture
def engine_(fresh_db_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_db_url)
    yield eng
    eng.dispose()


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every column of every record, provenance resolved to the extract's hash; updated_at
    checked against the extract's import time (both are the import's clock)."""
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        imported = {r.id: (r.content_hash, r.imported_at) for r in conn.execute(select(extract))}
        for row in conn.execute(select(source_record)).mappings():
            item = {k: v for k, v in row.items()
                    if k not in ("id", "first_extract_id", "extract_id", "updated_at")}
            item["first"] = imported[row["first_extract_id"]][0]
            item["latest"] = imported[row["extract_id"]][0]
            assert row["updated_at"] == imported[row["extract_id"]][1]
            out[row["source_record_id"]] = item
    return out


def dangling(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT COUNT(*) FROM source_record r WHERE NOT EXISTS"
            " (SELECT 1 FROM source s WHERE s.code = r.source_code)"
            " OR NOT EXISTS (SELECT 1 FROM extract e WHERE e.id = r.first_extract_id)"
            " OR NOT EXISTS (SELECT 1 FROM extract e WHERE e.id = r.extract_id)"
        )).scalar_one())


def test_direct_first_load_stores_what_the_staged_path_stores(
    engine_: Engine, fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = write_feed(tmp_path, "first.csv", ROWS, header=HEADER)
    direct = load(engine_, feed, tmp_path)
    assert (direct.status, direct.new, direct.rows_landed) == ("landed", 60, 60)

    other_url = fresh_db_url + "-staged" if fresh_db_url.startswith("sqlite") else None
    if other_url is None:  # PostgreSQL: a second fresh database is costly; reuse this one
        with engine_.begin() as conn:
            conn.execute(text("DELETE FROM source_record"))
        monkeypatch.setattr(Stager, "try_direct", lambda *_a: False)
        with engine_.begin() as conn:
            conn.execute(text("DELETE FROM extract"))
        staged_engine = engine_
    else:
        migrate.upgrade(other_url)
        staged_engine = make_engine(other_url)
        monkeypatch.setattr(Stager, "try_direct", lambda *_a: False)
    before = stored(engine_) if other_url else None
    staged = load(staged_engine, feed, tmp_path)
    assert (staged.status, staged.new, staged.rows_landed) == ("landed", 60, 60)
    if before is not None:
        assert stored(staged_engine) == before
    else:  # compare with a direct load of the same file into the emptied database
        staged_rows = stored(staged_engine)
        monkeypatch.undo()
        with engine_.begin() as conn:
            conn.execute(text("DELETE FROM source_record"))
            conn.execute(text("DELETE FROM extract"))
        assert load(engine_, feed, tmp_path).new == 60
        assert stored(engine_) == staged_rows
    assert dangling(staged_engine) == 0
    if staged_engine is not engine_:
        staged_engine.dispose()


def test_a_first_load_with_duplicates_or_deletes_falls_back_to_staging(
    engine_: Engine, tmp_path: Path
) -> None:
    rows = [*ROWS[:40], child("K003", given_name="Dup"),
            child("GONE", record_status="deleted")]
    result = load(engine_, write_feed(tmp_path, "dup.csv", rows, header=HEADER), tmp_path)
    assert result.status == "landed"
    assert (result.rows_landed, result.rows_rejected, result.new) == (41, 1, 40)
    assert result.unknown_deletes == 1
    assert result.reject_report is not None
    assert "duplicate source_record_id" in result.reject_report.read_text()
    records = stored(engine_)
    assert records["K003"]["given_name"] == "Ann3"
    assert "GONE" not in records
    with engine_.connect() as conn:
        assert conn.execute(select(extract.c.rows_landed)).scalar_one() == 41


def test_no_import_path_leaves_a_dangling_provenance_reference(
    engine_: Engine, tmp_path: Path
) -> None:
    load(engine_, write_feed(tmp_path, "a.csv", ROWS[:40], header=HEADER), tmp_path)
    changed = [child(r["source_record_id"], given_name="Changed") for r in ROWS[20:50]]
    load(engine_, write_feed(tmp_path, "b.csv", changed, header=HEADER,
                             extract_date="2026-11-02"), tmp_path)
    refused = load(engine_, write_feed(
        tmp_path, "c.csv", [child("X1", date_of_birth="bad")] * 3, header=HEADER,
        extract_date="2026-11-03", source="NEW-SOURCE"), tmp_path)
    assert refused.status == "refused"
    delta = [child("K045", record_status="deleted")]
    load(engine_, write_feed(tmp_path, "d.csv", delta, header=HEADER,
                             extract_date="2026-11-04", extract_type="delta"), tmp_path)
    assert dangling(engine_) == 0
    with engine_.connect() as conn:
        counts: dict[str, int] = dict(conn.execute(text(
            "SELECT record_status, COUNT(*) FROM source_record GROUP BY record_status")).all())
        assert conn.execute(text(
            "SELECT COUNT(*) FROM source WHERE code = 'NEW-SOURCE'")).scalar_one() == 0
    assert counts == {"active": 29, "retired": 20, "deleted": 1}


AWKWARD = {
    "given_name": 'Zoë "Zee"', "family_name": "O'Neil\\Smith",
    "address_line_1": "1 Long\nRoad", "address_line_2": "Flat\t2", "town": "Back\\slash\rtown",
    "parent_1_name": 'Sam "S" Back\\slash', "service_org_name": "Tab\tand\nnewline",
}


def test_awkward_text_lands_exactly_through_both_paths(engine_: Engine, tmp_path: Path) -> None:
    """Quotes, backslashes, tabs, newlines and carriage returns survive the bulk paths (COPY's
    text format escapes them) and the JSON built from them, first load and staged alike."""
    header = [*HEADER, *AWKWARD, "address_line_1"]
    header = list(dict.fromkeys(header))
    first = [child("A1", **AWKWARD), child("A2")]
    load(engine_, write_feed(tmp_path, "first.csv", first, header=header), tmp_path)
    second = [child("A1", **AWKWARD), child("A2", **AWKWARD), child("A3", **AWKWARD)]
    result = load(engine_, write_feed(tmp_path, "second.csv", second, header=header,
                                      extract_date="2026-11-02"), tmp_path)
    assert (result.new, result.changed, result.unchanged) == (1, 1, 1)
    rows = records(engine_)
    for key in ("A1", "A2", "A3"):
        record = rows[key]
        for column in ("given_name", "family_name", "address_line_1", "address_line_2",
                       "town"):
            assert record[column] == AWKWARD[column], (key, column)
        carers = record["carers"]
        involvements = record["involvements"]
        if isinstance(carers, str):
            carers, involvements = json.loads(carers), json.loads(involvements)
        assert carers == [{"name": AWKWARD["parent_1_name"]}]
        assert involvements[0]["org_name"] == AWKWARD["service_org_name"]
        assert "practitioner_name" not in involvements[0]  # null keys are left out


def test_source_record_checks_hold_after_an_import(engine_: Engine, tmp_path: Path) -> None:
    """source_record's CHECKs are equality chains (migration 0009: an IN list cost SQLite a
    temporary table per row), never switched off: every connection still enforces them."""
    load(engine_, write_feed(tmp_path, "a.csv", ROWS[:5], header=HEADER), tmp_path)
    for _ in range(3):  # whatever connection the pool hands out next
        with engine_.connect() as conn, pytest.raises(IntegrityError):
            conn.execute(text("UPDATE source_record SET sex = 'X'"))


def test_a_first_load_queues_exactly_its_records_for_the_linker(
    engine_: Engine, tmp_path: Path
) -> None:
    """Direct mode queues the key range it added, and falls back to naming the source's
    records when a row with an explicit key sits above that range (the sequence is behind)."""
    load(engine_, write_feed(tmp_path, "a.csv", ROWS[:5], header=HEADER), tmp_path)
    with engine_.begin() as conn:
        conn.execute(text("DELETE FROM link_queue"))
        row = conn.execute(select(source_record).limit(1)).mappings().one()
        conn.execute(source_record.insert().values(  # another source, a key far above
            {**{k: v for k, v in row.items() if k != "id"}, "id": 10**9,
             "source_code": "HMRC-CHB", "source_record_id": "X1"}))
    load(engine_, write_feed(tmp_path, "b.csv", ROWS[5:12], source="NHS-PDS", header=HEADER),
         tmp_path)
    with engine_.connect() as conn:
        queued = set(conn.execute(text(
            "SELECT s.source_code, s.source_record_id FROM link_queue q "
            "JOIN source_record s ON s.id = q.record_key")).all())
    assert queued == {("NHS-PDS", r["source_record_id"]) for r in ROWS[5:12]}
