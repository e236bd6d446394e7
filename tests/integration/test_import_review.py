"""Review findings on files (both databases): 7, refused files are audited; 8, no CSV formula
injection in any CSV the project writes, and those files are written 0600."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context
from contactpoint.cli.main import app
from contactpoint.db.engine import make_engine
from contactpoint.db.tables import child, source_record
from contactpoint.domain.csv_safety import safe_cell
from contactpoint.ingest.service import ImportOptions, import_file
from links import link

HEADER = ["source_record_id", "given_name", "family_name", "date_of_birth", "sex", "postcode"]
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
           "\tTAB", "\rCR"]
FORMULAS = HOSTILE[:4]  # the importer trims leading white space from ids


@pytest.fixture
def engine_(fresh_db_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_db_url)
    yield eng
    eng.dispose()


def feed(directory: Path, name: str, rows: list[dict[str, str]]) -> Path:
    path = directory / name
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    path.with_name(name + ".manifest.json").write_text(json.dumps(
        {"source": "DFE-CENSUS", "extract_date": "2026-11-01", "extract_type": "full"}))
    return path


def row(key: str, **kw: str) -> dict[str, str]:
    base = {"source_record_id": key, "given_name": "Ann", "family_name": "Lee",
            "date_of_birth": "2016-01-01", "sex": "F", "postcode": "LS1 1AA"}
    base.update(kw)
    return base


def test_safe_cell_neutralises_every_formula_start() -> None:
    for value in HOSTILE:
        assert str(safe_cell(value)).startswith("'")
    assert safe_cell("K123") == "K123"
    assert safe_cell(7) == 7


def test_a_refused_file_is_audited_and_its_report_is_private_and_inert(
    engine_: Engine, tmp_path: Path
) -> None:
    rows = [row(f"K{i}") for i in range(10)]
    rows += [row(h, date_of_birth="not a date") for h in HOSTILE]
    rows += [row("K99", date_of_birth="=HYPERLINK(\"http://evil.example\")")]
    result = import_file(engine_, feed(tmp_path, "bad.csv", rows),
                         ImportOptions(report_dir=tmp_path / "reports"))
    assert result.status == "refused"
    assert result.reject_report is not None
    assert stat.S_IMODE(result.reject_report.stat().st_mode) == 0o600
    with result.reject_report.open(newline="", encoding="utf-8") as fh:
        cells = [cell for line in csv.reader(fh) for cell in line]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert "'=HYPERLINK(\"http://evil.example\")" in cells
    with engine_.connect() as conn:
        last = trail.recent(conn, last=1)[0]
    assert last.action == AuditAction.IMPORT_REFUSED
    assert last.details["file"] == "bad.csv"
    assert last.details["rows_rejected"] == len(HOSTILE) + 1
    assert "over the limit" in last.details["why"]


def test_a_hostile_xml_file_is_refused_and_audited(engine_: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ctf.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "\n<CTfile><Header/></CTfile>\n"
    )
    path.with_name("ctf.xml.manifest.json").write_text(json.dumps(
        {"source": "DFE-CTF", "extract_date": "2026-11-01", "extract_type": "full"}))
    result = import_file(engine_, path, ImportOptions(report_dir=tmp_path / "reports"))
    assert result.status == "refused"
    with engine_.connect() as conn:
        last = trail.recent(conn, last=1)[0]
    assert last.action == AuditAction.IMPORT_REFUSED
    assert last.details["file"] == "ctf.xml"


def test_export_links_neutralises_formulas_and_is_private(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(fresh_db_url)
    try:
        import_file(engine, feed(tmp_path, "ok.csv", [row(h) for h in FORMULAS]),
                    ImportOptions(report_dir=tmp_path / "reports"))
        now = datetime(2026, 11, 2, tzinfo=UTC)
        with engine.begin() as conn:
            keys = list(conn.execute(select(source_record.c.id)).scalars())
            assert len(keys) == len(FORMULAS)
            made = conn.execute(insert(child).values(
                child_id="CP0000000001", created_at=now, updated_at=now).returning(child.c.id))
            link(conn, made.scalar_one(), *keys)
    finally:
        engine.dispose()
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CONTACTPOINT_VAR_DIR", str(tmp_path / "var"))
    context.settings.cache_clear()
    context.engine.cache_clear()
    try:
        out = tmp_path / "links.csv"
        result = CliRunner().invoke(app, ["export", "links", "--out", str(out)])
        assert result.exit_code == 0, result.output
    finally:
        context.engine().dispose()
        context.settings.cache_clear()
        context.engine.cache_clear()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(newline="", encoding="utf-8") as fh:
        ids = [r["source_record_id"] for r in csv.DictReader(fh)]
    assert sorted(ids) == sorted("'" + h for h in FORMULAS)
