"""FHIR R4 and DfE CTF feeds end to end on SQLite and PostgreSQL; hostile XML; the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from contactpoint.db.engine import make_engine
from contactpoint.db.tables import extract, source, source_record
from contactpoint.ingest.service import FileResult, ImportOptions, import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<CTfile><Header><SourceSchool><LEA>&lol9;</LEA><Estab>1</Estab></SourceSchool></Header>
<CTFpupilData><Pupil><UPN>&lol9;</UPN></Pupil></CTFpupilData></CTfile>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CTfile><Header><SourceSchool><LEA>823</LEA><Estab>1</Estab></SourceSchool></Header>
<CTFpupilData><Pupil><UPN>&xxe;</UPN></Pupil></CTFpupilData></CTfile>
"""


@pytest.fixture
def engine_(fresh_db_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_db_url)
    yield eng
    eng.dispose()


def load(engine: Engine, path: Path, tmp_path: Path, **kw: Any) -> FileResult:
    return import_file(engine, path, ImportOptions(report_dir=tmp_path / "reports", **kw))


def by_key(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(source_record)).mappings().all()
    return {(r["source_code"], r["source_record_id"]): dict(r) for r in rows}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_fhir_bundle_lands_with_carers_and_involvements(engine_: Engine, tmp_path: Path) -> None:
    result = load(engine_, FIXTURES / "csc_202_bundle.json", tmp_path)
    assert (result.status, result.source, str(result.extract_date)) == (
        "landed", "LA-CSC-202", "2026-11-03")
    recs = by_key(engine_)
    chidi = recs[("LA-CSC-202", "CSC-0001")]  # own key = first non-NHS identifier
    assert (chidi["given_name"], chidi["middle_names"], chidi["preferred_name"],
            chidi["former_family_name"], chidi["nhs_number"], chidi["postcode"]) == (
        "Chidi", "James", "CJ", "Adeyemi", "9434765919", "N1 9GU")
    # the RelatedPerson came before its Patient in the Bundle
    assert chidi["carers"][0]["name"] == "Sarah Okafor"
    kinds = [(i["service_type"], i["org_code"]) for i in chidi["involvements"]]
    assert kinds == [("primary_care", "F83004"), ("social_care", "202")]
    ava = recs[("LA-CSC-202", "p2")]  # no own identifier: Patient.id
    assert ava["postcode"] is None
    assert ava["address_line_2"] == "2600"
    assert ava["involvements"][0]["practitioner_name"] == "Pat Nurse"
    assert load(engine_, FIXTURES / "csc_202_bundle.json", tmp_path).status == "already_imported"


def test_ndjson_wrong_resource_type_is_rejected_or_refuses_over_limit(
    engine_: Engine, tmp_path: Path
) -> None:
    feed = FIXTURES / "csc_202_bulk.ndjson"
    refused = load(engine_, feed, tmp_path)
    assert refused.status == "refused"
    assert "1 of 6 rows rejected" in refused.message
    assert count(engine_, source_record) == 0
    landed = load(engine_, feed, tmp_path, reject_limit=0.5)
    assert (landed.status, landed.source, landed.rows_landed) == ("landed", "LA-CSC-202-BULK", 2)
    assert landed.reject_report is not None
    assert "6,resourceType,Observation" in landed.reject_report.read_text()
    recs = by_key(engine_)
    assert recs[("LA-CSC-202-BULK", "CSC-0001")]["carers"][0]["relationship"] == "mother"


def test_ctf_lands_pupils_with_their_school(engine_: Engine, tmp_path: Path) -> None:
    feed = FIXTURES / "school_4321.xml"
    refused = load(engine_, feed, tmp_path)
    assert refused.status == "refused"
    landed = load(engine_, feed, tmp_path, reject_limit=0.5)
    assert (landed.status, landed.source, landed.rows_read, landed.rows_landed) == (
        "landed", "CTF-8234321", 3, 2)
    assert landed.reject_report is not None
    assert "2,upn,B801200001001,UPN check letter does not match" in (
        landed.reject_report.read_text())
    pupil = by_key(engine_)[("CTF-8234321", "H801200001001")]
    assert pupil["involvements"][0]["service_type"] == "education"
    assert pupil["involvements"][0]["org_name"] == "Riverside Primary School"
    assert pupil["former_family_name"] == "Jones"
    assert pupil["upn"] == "H801200001001"


@pytest.mark.parametrize("payload", [BOMB, XXE], ids=["bomb", "xxe"])
def test_hostile_xml_is_refused_quickly_and_stores_nothing(
    engine_: Engine, tmp_path: Path, payload: str
) -> None:
    path = tmp_path / "hostile.xml"
    path.write_text(payload)
    tracemalloc.start()
    started = time.perf_counter()
    result = load(engine_, path, tmp_path, source="X-SCHOOL")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.status == "refused"
    assert "hostile or unsupported XML refused" in result.message
    assert elapsed < 0.5
    assert peak < 100 * 1024 * 1024
    assert count(engine_, source_record) == count(engine_, extract) == count(engine_, source) == 0


def test_cli_exit_codes_and_summary(fresh_db_url: str, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    for name in ("pds_full_1.csv", "pds_full_1.csv.manifest.json"):
        shutil.copy(FIXTURES / name, feeds / name)
    (feeds / "truth.csv").write_text("source,source_record_id,person_id\n")
    (feeds / "orphan.csv").write_text("source_record_id\n")
    (feeds / "hostile.xml").write_text(XXE)
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": fresh_db_url,
           "CONTACTPOINT_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    command = [sys.executable, "-m", "contactpoint", "import", str(feeds)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "pds_full_1.csv: landed" in first.stdout
    assert "hostile.xml: refused" in first.stdout
    assert "truth.csv" in first.stderr
    assert "orphan.csv" in first.stderr
    assert "summary written to" in first.stdout
    (feeds / "hostile.xml").unlink()
    second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already imported" in second.stdout
    assert list((tmp_path / "var" / "reports").glob("import-*/summary.json"))
