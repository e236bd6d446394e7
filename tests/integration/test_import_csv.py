"""CSV imports end to end on SQLite and PostgreSQL: landing, idempotency, retirement,
deltas, link_pending, provenance, refusals with specific messages, reject reports."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text

from contactpoint.db.engine import make_engine
from contactpoint.db.tables import extract, link_queue, source, source_authority, source_record
from contactpoint.domain.identifiers import upn_check_letter
from contactpoint.ingest.service import FileResult, ImportOptions, import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
HEADER = ["source_record_id", "record_status", "given_name", "family_name", "date_of_birth",
          "sex", "postcode", "nhs_number", "upn"]
UPN = upn_check_letter("801200001001") + "801200001001"


@pytest.fixture
def engine_(fresh_db_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_db_url)
    yield eng
    eng.dispose()


def write_feed(
    directory: Path, name: str, rows: list[dict[str, str]], *, source: str = "DFE-CENSUS",
    extract_date: str = "2026-11-01", extract_type: str = "full",
    header: list[str] | None = None,
) -> Path:
    path = directory / name
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header or HEADER, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    path.with_name(name + ".manifest.json").write_text(json.dumps(
        {"source": source, "extract_date": extract_date, "extract_type": extract_type}))
    return path


def child(key: str, **overrides: str) -> dict[str, str]:
    base = {"source_record_id": key, "given_name": "Ann", "family_name": "Lee",
            "date_of_birth": "2016-01-01", "sex": "F", "postcode": "LS1 1AA",
            "nhs_number": "9434765919", "upn": UPN}
    base.update(overrides)
    return base


def load(engine: Engine, path: Path, tmp_path: Path, **kw: Any) -> FileResult:
    return import_file(engine, path, ImportOptions(report_dir=tmp_path / "reports", **kw))


def records(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(source_record)).mappings().all()
    return {r["source_record_id"]: dict(r) for r in rows}


def queued(engine: Engine) -> set[str]:
    """The source record ids on the link queue."""
    with engine.connect() as conn:
        return set(conn.execute(
            select(source_record.c.source_record_id)
            .join(link_queue, link_queue.c.record_key == source_record.c.id)
        ).scalars())


def linker_saw_everything(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(link_queue))


def test_fixture_full_then_second_full_retires_changes_and_adds(
    engine_: Engine, tmp_path: Path
) -> None:
    first = load(engine_, FIXTURES / "pds_full_1.csv", tmp_path)
    assert (first.status, first.rows_read, first.rows_landed, first.new) == ("landed", 20, 20, 20)
    assert first.source_registered
    assert first.source_recognised
    again = load(engine_, FIXTURES / "pds_full_1.csv", tmp_path)
    assert again.status == "already_imported"
    assert "already imported" in again.message
    second = load(engine_, FIXTURES / "pds_full_2.csv", tmp_path)
    assert (second.new, second.changed, second.unchanged, second.rows_retired) == (1, 1, 18, 1)
    recs = records(engine_)
    assert recs["PDS00020"]["record_status"] == "retired"
    assert recs["PDS00003"]["family_name"] == "Changed"
    with engine_.connect() as conn:
        ids = dict(conn.execute(select(extract.c.file_name, extract.c.id)).all())
    first_id = ids[str(FIXTURES / "pds_full_1.csv")]
    second_id = ids[str(FIXTURES / "pds_full_2.csv")]
    assert recs["PDS00001"]["first_extract_id"] == first_id
    assert recs["PDS00001"]["extract_id"] == second_id
    assert recs["PDS00021"]["first_extract_id"] == second_id
    assert recs["PDS00001"]["carers"][0]["parental_responsibility"] is True
    assert recs["PDS00001"]["involvements"][0]["org_code"] == "B86001"


def test_new_and_changed_records_are_queued_for_the_linker(
    engine_: Engine, tmp_path: Path
) -> None:
    load(engine_, write_feed(tmp_path, "a.csv", [child("A"), child("B")]), tmp_path)
    assert queued(engine_) == {"A", "B"}  # a first load (direct mode) queues every record
    linker_saw_everything(engine_)
    result = load(engine_, write_feed(
        tmp_path, "b.csv", [child("A"), child("B", given_name="Anna"), child("C")],
        extract_date="2026-11-02"), tmp_path)
    assert (result.new, result.changed, result.unchanged) == (1, 1, 1)
    assert queued(engine_) == {"B", "C"}  # A came again unchanged
    linker_saw_everything(engine_)
    delta = write_feed(tmp_path, "c.csv", [child("A", record_status="deleted")],
                       extract_type="delta", extract_date="2026-11-03")
    load(engine_, delta, tmp_path)
    assert queued(engine_) == {"A"}  # a deletion too
    linker_saw_everything(engine_)
    load(engine_, write_feed(tmp_path, "d.csv", [child("A", record_status="deleted")],
                             extract_type="delta", extract_date="2026-11-04"), tmp_path)
    assert queued(engine_) == set()  # deleted again: nothing changed


def test_delta_updates_and_deletes_and_keeps_the_rest(engine_: Engine, tmp_path: Path) -> None:
    load(engine_, write_feed(tmp_path, "full.csv", [child("A"), child("B"), child("C")]),
         tmp_path)
    delta = write_feed(
        tmp_path, "delta.csv",
        [{"source_record_id": "A", "record_status": "deleted"}, child("D"),
         {"source_record_id": "ZZ", "record_status": "deleted"}],
        extract_date="2026-11-03", extract_type="delta")
    result = load(engine_, delta, tmp_path)
    assert (result.deleted, result.new, result.unknown_deletes, result.rows_retired) == (
        1, 1, 1, 0)
    statuses = {k: v["record_status"] for k, v in records(engine_).items()}
    assert statuses == {"A": "deleted", "B": "active", "C": "active", "D": "active"}


def test_an_older_extract_is_refused(engine_: Engine, tmp_path: Path) -> None:
    load(engine_, write_feed(tmp_path, "new.csv", [child("A")], extract_date="2026-11-05"),
         tmp_path)
    old = load(engine_, write_feed(tmp_path, "old.csv", [child("B")],
                                   extract_date="2026-11-01"), tmp_path)
    assert old.status == "refused"
    assert "old.csv: extract of 2026-11-01 is older than the last extract applied from " \
        "DFE-CENSUS (2026-11-05)" in old.message
    assert set(records(engine_)) == {"A"}


def test_rejects_land_the_rest_and_write_a_report(engine_: Engine, tmp_path: Path) -> None:
    rows = [child(f"K{i}") for i in range(40)]
    rows[5]["date_of_birth"] = "2016-02-30"
    rows[7]["nhs_number"] = "9434765918"
    result = load(engine_, write_feed(tmp_path, "r.csv", rows), tmp_path)
    assert (result.status, result.rows_landed, result.rows_rejected) == ("landed", 38, 2)
    assert result.reject_report is not None
    assert result.reject_report.parent == tmp_path / "reports"
    lines = list(csv.reader(result.reject_report.open()))
    assert lines[0] == ["row", "column", "value", "reason"]
    assert ["7", "date_of_birth", "2016-02-30", "not a real calendar date"] in lines
    assert ["9", "nhs_number", "9434765918", "NHS number fails the modulus 11 check"] in lines


def test_over_the_reject_limit_the_file_is_refused_whole(engine_: Engine, tmp_path: Path) -> None:
    rows = [child(f"K{i}", upn="A801200001001" if i < 3 else UPN) for i in range(20)]
    result = load(engine_, write_feed(tmp_path, "bad.csv", rows), tmp_path)
    assert result.status == "refused"
    assert "3 of 20 rows rejected (15.0%), over the limit of 5.0%" in result.message
    assert result.reject_report is not None
    assert result.reject_report.is_file()
    assert records(engine_) == {}
    with engine_.connect() as conn:
        assert conn.execute(select(extract)).first() is None
        assert conn.execute(select(source)).first() is None
    raised = load(engine_, write_feed(tmp_path, "bad2.csv", rows), tmp_path, reject_limit=0.2)
    assert raised.status == "landed"
    assert raised.rows_landed == 17


def test_duplicate_keys_in_one_file_are_rejected(engine_: Engine, tmp_path: Path) -> None:
    rows = [child(f"K{i}") for i in range(30)] + [child("K3", given_name="Dup")]
    result = load(engine_, write_feed(tmp_path, "dup.csv", rows), tmp_path)
    assert (result.rows_landed, result.rows_rejected) == (30, 1)
    assert result.reject_report is not None
    assert "32,source_record_id,K3,duplicate source_record_id (first seen at row 5)" in (
        result.reject_report.read_text())
    assert records(engine_)["K3"]["given_name"] == "Ann"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"source_record_id,given_name,family_name,date_of_birth\nA,Ann,Lee,2016-01-01\nB,Bo",
         "t.csv: row 3: the file is truncated"),
        (b"source_record_id,given_name,family_name,date_of_birth\nA,Ann,L\xe9e,2016-01-01\n",
         "t.csv: line 2: not valid UTF-8"),
        (b"source_record_id,given_name,family_name,date_of_birth,hair\nA,Ann,Lee,2016-01-01,red\n",
         "t.csv: row 1: unknown column(s) 'hair'"),
    ],
    ids=["truncated", "encoding", "unknown-column"],
)
def test_malformed_files_are_refused_with_a_specific_message(
    engine_: Engine, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = write_feed(tmp_path, "t.csv", [])
    path.write_bytes(content)
    result = load(engine_, path, tmp_path)
    assert result.status == "refused"
    assert expected in result.message
    assert records(engine_) == {}


def test_missing_manifest_is_refused(engine_: Engine, tmp_path: Path) -> None:
    path = tmp_path / "lonely.csv"
    shutil.copy(FIXTURES / "pds_full_1.csv", path)
    result = load(engine_, path, tmp_path)
    assert result.status == "refused"
    assert "lonely.csv: no manifest" in result.message


def test_an_unknown_source_is_registered_with_the_lowest_authority(
    engine_: Engine, tmp_path: Path
) -> None:
    result = load(engine_, write_feed(tmp_path, "x.csv", [child("A")], source="CHARITY-9"),
                  tmp_path)
    assert result.source_registered
    assert not result.source_recognised
    with engine_.connect() as conn:
        ranks = conn.execute(
            select(source_authority.c.rank).where(source_authority.c.source_code == "CHARITY-9")
        ).scalars().all()
        assert ranks
        assert set(ranks) == {0}
        assert conn.execute(text("SELECT recognised FROM source")).scalar() in (False, 0)


def test_unknown_columns_can_be_ignored_when_asked(engine_: Engine, tmp_path: Path) -> None:
    path = write_feed(tmp_path, "extra.csv", [])
    path.write_text("source_record_id,given_name,family_name,date_of_birth,hair\n"
                    "A,Ann,Lee,2016-01-01,red\n")
    assert load(engine_, path, tmp_path).status == "refused"
    result = load(engine_, path, tmp_path, ignore_unknown_columns=True)
    assert (result.status, result.rows_landed) == ("landed", 1)


def test_retirement_marks_the_record_for_the_linker(engine_: Engine, tmp_path: Path) -> None:
    """The linker's snapshot relies on it: every change a feed makes queues the record."""
    load(engine_, write_feed(tmp_path, "a.csv", [child("A"), child("B")]), tmp_path)
    linker_saw_everything(engine_)
    load(engine_, write_feed(tmp_path, "b.csv", [child("A")], extract_date="2026-11-02"),
         tmp_path)
    assert records(engine_)["B"]["record_status"] == "retired"
    assert queued(engine_) == {"B"}


def test_a_bulk_change_refreshes_planner_statistics_inside_the_import(
    engine_: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ANALYZE runs in the file's transaction (PostgreSQL) without breaking atomicity."""
    from contactpoint.ingest import staging

    monkeypatch.setattr(staging, "ANALYZE_AFTER_ROWS", 1)
    load(engine_, write_feed(tmp_path, "a.csv", [child("A"), child("B")]), tmp_path)
    result = load(engine_, write_feed(
        tmp_path, "b.csv", [child("A", given_name="Anna"), child("C")],
        extract_date="2026-11-02"), tmp_path)
    assert (result.new, result.changed, result.rows_retired) == (1, 1, 1)
    if engine_.dialect.name == "postgresql":
        with engine_.connect() as conn:
            analysed = conn.exec_driver_sql(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'source_record'"
            ).scalar()
        assert analysed is not None
