"""No output names a sensitive-service source beside a child unless asked, with a reason.

The importer flags a source whose records carry a sensitive-service involvement; ``export
links`` and ``review list`` leave its records out and say how many; ``--include-sensitive
--reason`` puts them back and is audited; ``evaluate`` still scores every record.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from children import NOW, add_child, add_record, add_source
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context
from contactpoint.cli.main import app
from contactpoint.db.engine import make_engine
from contactpoint.db.tables import source
from contactpoint.ingest.service import ImportOptions, import_file
from contactpoint.linking import review

CAMHS = {"service_type": "camhs", "org_code": "SHS201", "sensitive": True,
         "consent_basis": "not_given", "practitioner_name": "Dr Who"}
HEADER = ["source_record_id", "given_name", "family_name", "date_of_birth", "service_type",
          "service_org_code", "sensitive_service", "consent_to_disclose"]


def _feed(directory: Path, src: str, rows: list[dict[str, str]]) -> Path:
    path = directory / f"{src}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    path.with_name(path.name + ".manifest.json").write_text(json.dumps(
        {"source": src, "extract_date": "2026-11-01", "extract_type": "full"}))
    return path


def _flags(engine: Engine) -> dict[str, bool]:
    with engine.connect() as conn:
        return {r.code: bool(r.sensitive) for r in conn.execute(select(source))}


def test_the_importer_flags_a_source_that_sends_a_sensitive_service(
    fresh_db_url: str, tmp_path: Path,
) -> None:
    one = {"given_name": "Ann", "family_name": "Lee", "date_of_birth": "2010-01-01"}
    feeds = {
        "SHS-201": [{**one, "source_record_id": "S1", "service_type": "sexual_health",
                     "consent_to_disclose": "N"}],
        "LA-CSC-201": [{**one, "source_record_id": "C1", "service_type": "social_care"}],
        # flagged by the feed on a service that is not sensitive by type
        "HLT-9": [{**one, "source_record_id": "H1", "service_type": "other",
                   "sensitive_service": "Y"},
                  {**one, "source_record_id": "H2", "service_type": "other"}],
        "DFE-CENSUS": [{**one, "source_record_id": "D1"}],
    }
    engine = make_engine(fresh_db_url)
    try:
        for src, rows in feeds.items():
            result = import_file(engine, _feed(tmp_path, src, rows),
                                 ImportOptions(report_dir=tmp_path / "reports"))
            assert result.ok, result.message
        assert _flags(engine) == {"SHS-201": True, "LA-CSC-201": False, "HLT-9": True,
                                  "DFE-CENSUS": False}
    finally:
        engine.dispose()


@pytest.fixture
def cli(module_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", module_db_url)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


@pytest.fixture(scope="module")
def world(module_db_url: str) -> dict[str, str]:
    """Two children: Amy is known to NHS-PDS and to a sensitive service (SHS-201); Ben to
    NHS-PDS and DFE-CENSUS. A review item pairs each child's two records."""
    engine = make_engine(module_db_url)
    with engine.begin() as conn:
        add_source(conn, "SHS-201", sensitive=True)
        amy_pds = add_record(conn, "NHS-PDS", srid="P1")
        amy_shs = add_record(conn, "SHS-201", srid="S1", involvements=[CAMHS])
        ben_pds = add_record(conn, "NHS-PDS", srid="P2", given="Ben")
        ben_dfe = add_record(conn, "DFE-CENSUS", srid="D2", given="Ben")
        amy = add_child(conn, amy_pds, amy_shs)[1]
        ben = add_child(conn, ben_pds, ben_dfe)[1]
        review.queue_pairs(conn, pl.DataFrame({
            "record_key_l": [amy_pds, ben_pds], "record_key_r": [amy_shs, ben_dfe],
            "child_key": [None, None], "match_probability": [0.8, 0.8],
            "cause": ["clerical_band", "clerical_band"]},
            schema={"record_key_l": pl.Int64(), "record_key_r": pl.Int64(),
                    "child_key": pl.Int64(), "match_probability": pl.Float64(),
                    "cause": pl.Utf8()}), run_id=None, model_version=None, now=NOW)
    engine.dispose()
    return {"amy": amy, "ben": ben}


def _rows(path: Path) -> list[tuple[str, str, str]]:
    return [(r["source"], r["source_record_id"], r["child_id"])
            for r in csv.DictReader(path.open(encoding="utf-8"))]


def test_export_links_keeps_the_contract_and_withholds_sensitive_sources_when_asked(
    cli: CliRunner, world: dict[str, str], tmp_path: Path, module_db_url: str,
) -> None:
    """``export links`` is the contract linkage is measured by (every active record, spec/cli.md):
    it holds every record and the audit says how many came from sensitive-service sources;
    ``--withhold-sensitive`` leaves them out of a copy that travels further."""
    out = tmp_path / "links.csv"
    r = cli.invoke(app, ["export", "links", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert ("NHS-PDS", "P1", world["amy"]) in rows
    assert ("SHS-201", "S1", world["amy"]) in rows
    r = cli.invoke(app, ["export", "links", "--out", str(out), "--withhold-sensitive"])
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert ("NHS-PDS", "P1", world["amy"]) in rows
    assert all(src != "SHS-201" and srid != "S1" for src, srid, _ in rows)
    assert "1 records of sensitive-service sources left out" in r.output
    engine = make_engine(module_db_url)
    with engine.connect() as conn:
        exports = [e for e in trail.recent(conn, last=50) if e.action == AuditAction.EXPORT]
    engine.dispose()
    assert exports[-2].details["sensitive_included"] == 1
    assert exports[-1].details["sensitive_withheld"] == 1


def test_evaluate_still_scores_the_sensitive_sources_records(
    cli: CliRunner, world: dict[str, str], tmp_path: Path,
) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_text("source,source_record_id,person_id\nNHS-PDS,P1,amy\nSHS-201,S1,amy\n"
                     "NHS-PDS,P2,ben\nDFE-CENSUS,D2,ben\n", encoding="utf-8")
    r = cli.invoke(app, ["evaluate", "--truth", str(truth)])
    assert r.exit_code == 0, r.output
    table = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in r.output.splitlines() if line.count("│") == 3}
    assert table["true pairs"] == "2"  # Amy's pair is scored: it needs the SHS record
    assert table["recall"] == "1.000000"
    assert "SHS-201" not in r.output


def test_review_list_leaves_sensitive_items_out_unless_asked(
    cli: CliRunner, world: dict[str, str], module_db_url: str,
) -> None:
    r = cli.invoke(app, ["review", "list"])
    assert r.exit_code == 0, r.output
    assert "DFE-CENSUS:D2" in r.output
    assert "SHS-201" not in r.output
    assert world["amy"] not in r.output
    assert "1 items with a record of a sensitive-service source left out" in r.output
    assert cli.invoke(app, ["review", "list", "--include-sensitive"]).exit_code == 1
    r = cli.invoke(app, ["review", "list", "--include-sensitive", "--reason", "clerical review"])
    assert r.exit_code == 0, r.output
    assert "SHS-201:S1" in r.output
    engine = make_engine(module_db_url)
    with engine.connect() as conn:
        last = trail.recent(conn, last=1)[0]
    engine.dispose()
    assert (last.action, last.subject, last.reason) == (
        AuditAction.SENSITIVE_DISCLOSE, "review-list", "clerical review")


def test_a_short_review_list_is_filled_past_withheld_items(
    cli: CliRunner, world: dict[str, str],
) -> None:
    r = cli.invoke(app, ["review", "list", "--limit", "1"])
    assert r.exit_code == 0, r.output
    assert "DFE-CENSUS:D2" in r.output  # the first item was withheld: the second one shows


def test_the_migration_flags_the_sources_already_held(fresh_db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from contactpoint.db import migrate

    config = migrate.alembic_config(fresh_db_url)
    command.downgrade(config, "0012_link_event_retire")
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            for code in ("SHS-201", "NHS-PDS"):
                conn.execute(text("INSERT INTO source (code, recognised, registered_at) "
                                  "VALUES (:c, true, '2026-11-25 00:00:00+00:00')"), {"c": code})
            for n, (code, inv) in enumerate((
                ("SHS-201", '[{"service_type":"camhs","sensitive":true}]'),
                ("NHS-PDS", '[{"service_type":"primary_care","sensitive":false}]'),
            )):
                conn.execute(text(
                    "INSERT INTO source_record (source_code, source_record_id, record_status, "
                    "given_name, family_name, date_of_birth, carers, involvements, "
                    "first_extract_id, extract_id, content_hash, updated_at) VALUES (:c, :id, "
                    "'active', 'Amy', 'Lee', '2016-01-01', '[]', :inv, 1, 1, 'h', "
                    "'2026-11-25 00:00:00+00:00')"), {"c": code, "id": f"r{n}", "inv": inv})
        command.upgrade(config, "heads")
        assert _flags(engine) == {"SHS-201": True, "NHS-PDS": False}
    finally:
        engine.dispose()
