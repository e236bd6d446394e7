"""FHIR NDJSON validated by worker processes gives what the serial reader gives: the same
parked contributions, rejects and landed records; a dead worker refuses the file, never hangs;
workers do not outlive a killed importer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import func, select

from contactpoint.db.engine import make_engine
from contactpoint.db.tables import extract, source_record
from contactpoint.domain.identifiers import nhs_check_digit
from contactpoint.errors import FeedRefused
from contactpoint.ingest import fhir_reader, fhir_workers
from contactpoint.ingest.fhir_reader import FhirFeed
from contactpoint.ingest.readers import ReaderOptions
from contactpoint.ingest.rejects import RejectSink
from contactpoint.ingest.service import FileResult, ImportOptions, import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"


def nhs(n: int) -> str:
    body = 943_476_000 + n * 7
    while (check := nhs_check_digit(f"{body:09d}")) is None:
        body += 1
    return f"{body:09d}{check}"


def group(i: int) -> list[bytes]:
    """A Patient with a carer and two involvements, then one kind of bad line in turn."""
    ref = {"reference": f"Patient/p{i}"}
    patient = {
        "resourceType": "Patient", "id": f"p{i}",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs(i)},
                       {"system": "https://example.org/la/child", "value": f"K{i:05d}"}],
        "name": [{"use": "official", "family": f"Family{i % 13}", "given": ["Ava", "Jo"]},
                 {"use": "usual", "given": ["AJ"]}, {"use": "old", "family": "Older"}],
        "gender": ("male", "female", "unknown")[i % 3],
        "birthDate": f"{2010 + i % 12}-0{1 + i % 9}-1{i % 9}",
        "address": [{"use": "home", "line": ["Flat 2", f"{i} Church Street"],
                     "city": "Leeds", "postalCode": "LS1 4AB"}],
        "generalPractitioner": [{"reference": "Organization/B86001", "display": "Surgery"}],
    }
    carer = {
        "resourceType": "RelatedPerson", "id": f"rp{i}", "patient": ref,
        "relationship": [{"coding": [{"code": "MTH", "display": "mother"}]}],
        "name": [{"given": ["Sarah"], "family": f"Family{i % 13}"}],
        "telecom": [{"system": "phone", "value": "0113 496 0002"}],
    }
    episode = {
        "resourceType": "EpisodeOfCare", "id": f"e{i}", "status": "active", "patient": ref,
        "type": [{"coding": [{"code": "social_care"}]}],
        "managingOrganization": {"reference": "Organization/202", "display": "Council"},
        "careManager": {"display": "Jo Bloggs"}, "period": {"start": "2025-03-01"},
    }
    team = {
        "resourceType": "CareTeam", "id": f"c{i}", "subject": ref,
        "category": [{"coding": [{"code": "health_visitor"}]}],
        "managingOrganization": [{"display": "Health", "identifier": {"value": "RKE"}}],
        "participant": [{"member": {"display": "Pat Nurse"}, "role": [{"text": "HV"}]}],
        "period": {"start": "2019-02-01"},
    }
    bad: Any = [
        b"{not json",
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
        {"resourceType": "Patient", "id": f"bad{i}", "birthDate": "2015-13-40"},
        {"resourceType": "RelatedPerson", "patient": {"reference": f"Patient/nobody{i}"},
         "name": [{"text": "Sam"}]},
        b"",  # a blank line: not a record
        b"[1, 2]",
        {"resourceType": "Patient", "name": [{"family": "Nokey"}]},  # no id, no identifier
        {**episode, "id": f"x{i}", "type": [{"coding": [{"code": "astrology"}]}]},
        {"resourceType": "RelatedPerson", "patient": ref},  # a carer without a name
        b'{"resourceType": "Patient", "id": "\xff"}',  # not UTF-8
    ][i % 10]
    resources = [carer, patient, team] if i % 2 else [patient, episode, carer, team]
    lines = [json.dumps(r).encode() for r in resources]
    lines.insert(i % 3, bad if isinstance(bad, bytes) else json.dumps(bad).encode())
    return [line + (b"\r\n" if i % 7 == 0 else b"\n") for line in lines]


def write_feed(path: Path, groups: int) -> Path:
    lines = [line for i in range(groups) for line in group(i)]
    path.write_bytes(b"".join(lines).rstrip(b"\n"))  # the last line has no newline
    return path


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[ProcessPoolExecutor]:
    """The worker pools the readers open (so a test can see the parallel path was taken)."""
    opened: list[ProcessPoolExecutor] = []
    real = fhir_workers.open_pool

    def open_pool(workers: int) -> ProcessPoolExecutor:
        opened.append(real(workers))
        return opened[-1]

    monkeypatch.setattr(fhir_workers, "open_pool", open_pool)
    return opened


def read(path: Path, tmp_path: Path, **kw: Any) -> dict[str, Any]:
    """Park, assemble and report one file; everything the two paths must agree on."""
    ticks: list[int] = []
    store = sqlite3.connect(":memory:")
    store.executescript(fhir_reader.PARK_SCHEMA)
    with RejectSink() as sink:
        FhirFeed(path, ReaderOptions(), ticks.append, **kw)._park(store, sink)
        parked = {table: store.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
                  for table in ("patient", "patient_key", "attached")}
        store.close()
    feed = FhirFeed(path, ReaderOptions(batch_rows=50), lambda _n: None, **kw)
    with RejectSink() as sink:
        rows = [r for frame, _ in feed.batches(sink) for r in frame.to_dicts()]
        report = sink.write_report(tmp_path / f"{kw.get('workers')}.rejects.csv").read_text()
        counts = (sink.rows, sink.lines)
    return {"parked": parked, "rows": rows, "report": report, "counts": counts,
            "records": feed.records, "ticked": sum(ticks)}


def test_parallel_and_serial_readers_agree(
    tmp_path: Path, pools: list[ProcessPoolExecutor]
) -> None:
    path = write_feed(tmp_path / "mixed.ndjson", groups=150)
    serial = read(path, tmp_path, workers=1)
    assert not pools
    parallel = read(path, tmp_path, workers=2, parallel_min_lines=1, chunk_lines=7)
    assert len(pools) == 2  # _park and batches() each ran the pool
    assert parallel == serial
    assert serial["ticked"] == path.stat().st_size
    assert serial["records"] == sum(1 for x in path.read_bytes().split(b"\n") if x.strip())
    report = serial["report"]
    for expected in (
        "1,resource,,not valid JSON",
        ',resourceType,Observation,"resource type Observation is not accepted',
        ',Patient.birthDate,,"not a valid FHIR R4 Patient: ',
        ",RelatedPerson.patient,Patient/nobody3,refers to a Patient that is not in this file",
        ",resource,,not a JSON object",
        ",Patient.identifier,,no source identifier and no Patient.id",
        ',EpisodeOfCare.type,astrology,"not a service type',
        ",RelatedPerson.name,,a carer needs a name",
        "not valid JSON ('utf-8' codec can't decode",
    ):
        assert expected in report
    assert len(serial["rows"]) == 150  # one good Patient a group
    assert {len(json.loads(r["carers"])) for r in serial["rows"]} == {1}


def test_small_files_bundles_and_one_worker_stay_serial(
    tmp_path: Path, pools: list[ProcessPoolExecutor], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = write_feed(tmp_path / "small.ndjson", groups=4)
    lines = small.read_bytes().count(b"\n") + 1
    for path, kw in (
        (small, {"workers": 2, "parallel_min_lines": lines + 1}),
        (small, {"workers": 1, "parallel_min_lines": 1}),
        (FIXTURES / "csc_202_bundle.json", {"workers": 2, "parallel_min_lines": 1}),
    ):
        with RejectSink() as sink:
            assert [f for f, _ in FhirFeed(path, ReaderOptions(), lambda _n: None,
                                           **kw).batches(sink)]
    assert not pools
    with RejectSink() as sink:  # exactly the threshold: parallel
        list(FhirFeed(small, ReaderOptions(), lambda _n: None, workers=2,
                      parallel_min_lines=lines).batches(sink))
    assert len(pools) == 1
    monkeypatch.setenv(fhir_workers.WORKERS_ENV, "0")
    assert FhirFeed(small, ReaderOptions(), lambda _n: None).workers == 0
    monkeypatch.setenv(fhir_workers.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match=fhir_workers.WORKERS_ENV):
        FhirFeed(small, ReaderOptions(), lambda _n: None)


def force_parallel(monkeypatch: pytest.MonkeyPatch, chunk_lines: int) -> None:
    """Any NDJSON file, however small, goes through the pool, in chunks this small."""
    monkeypatch.setattr(fhir_reader, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(fhir_reader, "CHUNK_LINES", chunk_lines)


def load(url: str, path: Path, tmp_path: Path, source: str, **kw: Any) -> FileResult:
    engine = make_engine(url)
    try:
        return import_file(engine, path, ImportOptions(
            report_dir=tmp_path / source, source=source, reject_limit=1.0), **kw)
    finally:
        engine.dispose()


def test_parallel_import_lands_what_the_serial_import_lands(
    fresh_db_url: str, tmp_path: Path, pools: list[ProcessPoolExecutor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    force_parallel(monkeypatch, chunk_lines=16)
    feed = write_feed(tmp_path / "feed.ndjson", groups=120)
    monkeypatch.setenv(fhir_workers.WORKERS_ENV, "1")
    serial = load(fresh_db_url, feed, tmp_path, "FHIR-SERIAL")
    assert not pools
    again = tmp_path / "again.ndjson"  # the same records; a trailing blank line: a new hash
    again.write_bytes(feed.read_bytes() + b"\n")
    monkeypatch.setenv(fhir_workers.WORKERS_ENV, "2")
    parallel = load(fresh_db_url, again, tmp_path, "FHIR-PARALLEL")
    assert len(pools) == 1
    assert (serial.status, parallel.status) == ("landed", "landed")
    figures = ("rows_read", "rows_landed", "rows_rejected", "new")
    assert [getattr(parallel, f) for f in figures] == [getattr(serial, f) for f in figures]
    assert serial.rows_landed > 90
    assert serial.reject_report is not None
    assert parallel.reject_report is not None
    assert parallel.reject_report.read_text() == serial.reject_report.read_text()

    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(source_record)).mappings().all()
    finally:
        engine.dispose()
    skip = {"id", "source_code", "first_extract_id", "extract_id", "updated_at"}
    landed: dict[str, list[str]] = {"FHIR-SERIAL": [], "FHIR-PARALLEL": []}
    for row in rows:
        item = {k: v for k, v in row.items() if k not in skip}
        landed[row["source_code"]].append(json.dumps(item, sort_keys=True, default=str))
    assert len(landed["FHIR-SERIAL"]) == serial.rows_landed
    assert sorted(landed["FHIR-PARALLEL"]) == sorted(landed["FHIR-SERIAL"])


def alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


class KillAWorker:
    """A progress tick that SIGKILLs one worker of the last pool opened, once."""

    def __init__(self, pools: list[ProcessPoolExecutor]) -> None:
        self.pools = pools
        self.pids: list[int] = []

    def __call__(self, _n: int) -> None:
        if self.pools and not self.pids:
            self.pids = list(self.pools[-1]._processes or {})
            os.kill(self.pids[0], signal.SIGKILL)


def test_a_dead_worker_refuses_the_file_and_stores_nothing(
    fresh_db_url: str, tmp_path: Path, pools: list[ProcessPoolExecutor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    force_parallel(monkeypatch, chunk_lines=5)
    monkeypatch.setenv(fhir_workers.WORKERS_ENV, "2")
    feed = write_feed(tmp_path / "feed.ndjson", groups=60)
    kill = KillAWorker(pools)
    started = time.monotonic()
    result = load(fresh_db_url, feed, tmp_path, "FHIR-CRASH", tick=kill)
    assert time.monotonic() - started < 60
    assert result.status == "refused"
    assert "a validation worker process died" in result.message
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            for table in (source_record, extract):
                assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    finally:
        engine.dispose()
    assert len(pools) == 1
    assert len(kill.pids) == 2
    assert not any(alive(p) for p in kill.pids)  # the pool was shut down


def test_the_reader_raises_a_dead_worker_and_shuts_the_pool(
    tmp_path: Path, pools: list[ProcessPoolExecutor]
) -> None:
    path = write_feed(tmp_path / "feed.ndjson", groups=60)
    kill = KillAWorker(pools)
    feed = FhirFeed(path, ReaderOptions(), kill, workers=2, parallel_min_lines=1,
                    chunk_lines=5)
    with RejectSink() as sink, pytest.raises(FeedRefused, match="worker process died"):
        list(feed.batches(sink))
    assert kill.pids
    assert not any(alive(p) for p in kill.pids)


CHILD = """
import sys, time
from contactpoint.ingest import fhir_workers
pool = fhir_workers.open_pool(2)
list(pool.map(fhir_workers.chunk_outcomes, [1, 1], [b"{}", b"{}"]))
print(*pool._processes, flush=True)
time.sleep(120)
"""


def test_workers_exit_when_the_importer_is_killed() -> None:
    proc = subprocess.Popen(  # stderr: the killed child's resource tracker warns of leaks
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2
        assert all(psutil.pid_exists(p) for p in pids)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()

    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)


def test_the_fork_server_starts_early_only_for_an_ndjson_file_workers_will_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    class Spawn:  # answers as a platform without forkserver would: nothing is started
        def get_start_method(self) -> str:
            asked.append("start method")
            return "spawn"

    monkeypatch.setattr(fhir_workers, "worker_count", lambda: 2)
    monkeypatch.setattr(fhir_workers, "_context", Spawn)
    small, large = tmp_path / "delta.ndjson", tmp_path / "full.ndjson"
    small.write_bytes(b"{}\n" * 10)
    short = b"{" + b" " * (fhir_workers.MIN_LINE_BYTES - 3) + b"}\n"  # the shortest lines
    large.write_bytes(short * fhir_reader.PARALLEL_MIN_LINES)
    # a daily delta: larger than the threshold's shortest lines, but fewer, longer lines
    wide = tmp_path / "wide.ndjson"
    wide.write_bytes((b"{" + b" " * 477 + b"}\n") * (fhir_reader.PARALLEL_MIN_LINES // 3))
    assert wide.stat().st_size > large.stat().st_size
    fhir_workers.start_early([small, wide, tmp_path / "a.csv"], fhir_reader.PARALLEL_MIN_LINES)
    assert asked == []
    fhir_workers.start_early([small, large], fhir_reader.PARALLEL_MIN_LINES)
    assert asked == ["start method"]
