"""The backup/restore drill, on SQLite and PostgreSQL: back up a linked index online, restore it
into a fresh database and empty state directories, then `audit verify` passes and the next
daily delta links exactly as it does on the original (records join their existing children,
no duplicate children)."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_process import cli_env, run, run_json
from conftest import _create_pg_database, _drop_pg_database


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even the schema (PostgreSQL: just created)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:6]}.sqlite3'}"
        return
    url = _create_pg_database()
    yield url
    _drop_pg_database(url)


def _links(env: dict[str, str], out: Path) -> dict[tuple[str, str], str]:
    assert run_json(["export", "links", "--out", str(out)], env)["rows"] > 0
    with out.open(newline="") as fh:
        return {(r["source"], r["source_record_id"]): r["child_id"] for r in csv.DictReader(fh)}


def _partition(links: dict[tuple[str, str], str]) -> set[frozenset[tuple[str, str]]]:
    children: dict[str, set[tuple[str, str]]] = {}
    for record, child_id in links.items():
        children.setdefault(child_id, set()).add(record)
    return {frozenset(records) for records in children.values()}


def _search(url: str, var: Path, who: tuple[str, str, str]) -> list[str]:
    """The children a practitioner's search by given name, family name and date of birth
    returns (the search service itself: the same scorer and keys as the API)."""
    from datetime import date

    from contactpoint.access.models import AuditContext
    from contactpoint.children.search import search
    from contactpoint.db.engine import make_engine
    from contactpoint.domain.search import SearchCriteria
    from contactpoint.domain.visibility import Viewer, ViewerRole

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            hits = search(
                conn, viewer=Viewer(ViewerRole.PRACTITIONER, actor="user:drill"),
                criteria=SearchCriteria(given_name=who[0], family_name=who[1],
                                        date_of_birth=date.fromisoformat(who[2])),
                reason="backup drill", ctx=AuditContext("user:drill", None, None),
                linkage_dir=var / "linkage")
    finally:
        engine.dispose()
    return [h.child_id for h in hits]


def _someone(url: str) -> tuple[str, str, str]:
    from sqlalchemy import text

    from contactpoint.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT given_name, family_name, date_of_birth FROM "
                                    "source_record ORDER BY id LIMIT 1")).one()
    finally:
        engine.dispose()
    return str(row[0]), str(row[1]), str(row[2])[:10]


def test_backup_restore_drill(fresh_db_url: str, empty_db_url: str, tmp_path: Path) -> None:
    original = cli_env(tmp_path / "var", fresh_db_url)
    feeds, delta = tmp_path / "feeds", tmp_path / "delta"
    run_json(["synth", "--children", "200", "--seed", "4", "--out", str(feeds)], original)
    run_json(["synth", "--delta-of", str(feeds), "--delta-records", "60", "--seed", "5",
              "--out", str(delta)], original)
    assert run_json(["import", str(feeds), "--link"], original)["link"]["mode"] == "initial"
    assert run(["audit", "checkpoint"], original).returncode == 0
    before = _links(original, tmp_path / "before.csv")

    backup_dir = tmp_path / "backup"
    made = run_json(["backup", str(backup_dir)], original)
    assert made["counts"]["children"] == len(set(before.values()))
    assert {"manifest.json", "audit/signing-key.pem"} <= {
        p.relative_to(backup_dir).as_posix() for p in backup_dir.rglob("*")}
    assert any(name.startswith("audit/checkpoints/checkpoint-") for name in made["files"])
    assert (backup_dir / "audit/signing-key.pem").stat().st_mode & 0o077 == 0

    who = _someone(fresh_db_url)
    found_before = _search(fresh_db_url, tmp_path / "var", who)
    assert found_before  # the child is found before the backup
    # the original carries on with the daily delta: what the restored copy must reproduce
    on_original = run_json(["import", str(delta), "--link"], original)
    expected = _links(original, tmp_path / "expected.csv")

    restored = cli_env(tmp_path / "restored-var", empty_db_url)
    back = run_json(["restore", str(backup_dir)], restored)
    assert back["counts"] == made["counts"]
    verified = run_json(["audit", "verify"], restored)
    assert verified["ok"] is True
    assert verified["published_checkpoints"] >= 1
    assert _links(restored, tmp_path / "after-restore.csv") == before
    assert _search(empty_db_url, tmp_path / "restored-var", who) == found_before

    on_restored = run_json(["import", str(delta), "--link"], restored)
    link = on_restored["link"]
    assert link["mode"] == "incremental"
    assert link["records_linked"] == on_original["link"]["records_linked"] > 0
    assert link["children_created"] == on_original["link"]["children_created"]
    got = _links(restored, tmp_path / "got.csv")
    assert _partition(got) == _partition(expected)  # the same children, none duplicated
    assert {r: got[r] for r in before} == {r: expected[r] for r in before}
    assert len(set(got.values())) == len(set(expected.values()))
    assert run_json(["audit", "verify"], restored)["ok"] is True


def test_restore_refuses_a_damaged_backup_and_an_occupied_target(
    fresh_db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    original = cli_env(tmp_path / "var", fresh_db_url)
    backup_dir = tmp_path / "backup"
    run_json(["backup", str(backup_dir)], original)
    refused = run(["backup", str(backup_dir)], original)
    assert refused.returncode == 1
    assert "exists and is not an empty directory" in refused.stderr

    manifest = json.loads((backup_dir / "manifest.json").read_text())
    victim = next(n for n in manifest["files"] if n.startswith("database."))
    saved = (backup_dir / victim).read_bytes()
    at = len(saved) // 2
    (backup_dir / victim).write_bytes(saved[:at] + bytes([saved[at] ^ 1]) + saved[at + 1:])
    restored = cli_env(tmp_path / "restored-var", empty_db_url)
    damaged = run(["restore", str(backup_dir)], restored)
    assert damaged.returncode == 1
    assert f"backup damaged: {victim} does not match its SHA-256" in damaged.stderr
    (backup_dir / victim).write_bytes(saved)

    occupied = run(["restore", str(backup_dir)], original)  # into the live index: refused
    assert occupied.returncode == 1
    assert "restore writes only into an empty database" in occupied.stderr
    missing = run(["restore", str(tmp_path / "nowhere")], restored)
    assert missing.returncode == 66
