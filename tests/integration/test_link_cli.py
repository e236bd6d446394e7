"""The CLI end to end: import feeds, link (real engine, --retrain), export, evaluate, review."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context
from contactpoint.cli.main import app
from contactpoint.db.tables import child, record_link, source_record
from contactpoint.db.uow import UnitOfWork
from contactpoint.domain.identifiers import nhs_check_digit
from contactpoint.linking import review
from contactpoint.linking.child_records import load_child_record
from contactpoint.linking.tables import merge_event
from names import FAMILY, GIVEN

COLUMNS = [
    "source_record_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "address_line_1",
    "postcode",
    "nhs_number",
    "service_type",
    "service_org_code",
]


def _write_feeds(directory: Path, n: int = 300) -> Path:
    rng = random.Random(11)
    files = {s: [] for s in ("NHS-PDS", "DFE-CENSUS")}  # type: dict[str, list[dict[str, str]]]
    truth = []
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
        for src in rng.sample(list(files), rng.randrange(1, 3)):
            srid = f"{src[:3]}{person:05d}"
            files[src].append(
                {
                    "source_record_id": srid,
                    "given_name": g if rng.random() > 0.1 else g + "e",
                    "family_name": f,
                    "date_of_birth": dob.isoformat(),
                    "sex": "F" if person % 2 else "M",
                    "address_line_1": line,
                    "postcode": postcode,
                    "nhs_number": nhs if src == "NHS-PDS" else "",
                    "service_type": "primary_care" if src == "NHS-PDS" else "education",
                    "service_org_code": "B86001" if src == "NHS-PDS" else "100001",
                }
            )
            truth.append((src, srid, f"P{person}"))
    for src, rows in files.items():
        path = directory / f"{src}.csv"
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, COLUMNS)
            w.writeheader()
            w.writerows(rows)
        (directory / f"{src}.csv.manifest.json").write_text(
            json.dumps({"source": src, "extract_date": "2026-11-01", "extract_type": "full"})
        )
    truth_path = directory / "truth.csv"
    with truth_path.open("w", newline="") as fh:
        w2 = csv.writer(fh)
        w2.writerow(["source", "source_record_id", "person_id"])
        w2.writerows(truth)
    return truth_path


@pytest.fixture
def cli(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("CONTACTPOINT_VAR_DIR", str(tmp_path / "var"))
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_import_link_export_evaluate_review(cli: CliRunner, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    truth = _write_feeds(feeds)
    r = cli.invoke(app, ["import", str(feeds / "NHS-PDS.csv"), str(feeds / "DFE-CENSUS.csv")])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["link", "--retrain"])
    assert r.exit_code == 0, r.output
    assert "children created" in r.output
    assert "initial" in r.output
    assert list((tmp_path / "var" / "linkage" / "models").glob("model-*.json"))

    out = tmp_path / "links.csv"
    r = cli.invoke(app, ["export", "links", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert rows
    assert set(rows[0]) == {"source", "source_record_id", "child_id"}
    assert all(len(row["child_id"]) == 12 for row in rows)

    r = cli.invoke(app, ["evaluate", "--truth", str(truth)])
    assert r.exit_code == 0, r.output
    assert "precision" in r.output
    assert "false merges" in r.output

    # a second link run has nothing to do
    r = cli.invoke(app, ["link"])
    assert r.exit_code == 0
    assert "incremental" in r.output

    # unmerge a two-record child from the CLI, then rejoin it through the review queue
    by_child: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_child.setdefault(row["child_id"], []).append(row)
    cid, pair = next((c, v) for c, v in by_child.items() if len(v) == 2)
    moved = f"{pair[1]['source']}:{pair[1]['source_record_id']}"
    r = cli.invoke(
        app, ["review", "unmerge", cid, "--records", moved, "--new", "--reason", "test split"]
    )
    assert r.exit_code == 0, r.output
    engine = context.engine()
    with UnitOfWork(engine) as uow:
        keys = uow.connection.execute(
            select(source_record.c.id, record_link.c.child_key)
            .join(record_link, record_link.c.record_key == source_record.c.id)
            .where(source_record.c.source_record_id.in_([p["source_record_id"] for p in pair]))
        ).all()
        assert len({k[1] for k in keys}) == 2
        import polars as pl

        review.queue_pairs(
            uow.connection,
            pl.DataFrame(
                {
                    "record_key_l": [min(k[0] for k in keys)],
                    "record_key_r": [max(k[0] for k in keys)],
                    "child_key": [keys[0][1]],
                    "match_probability": [0.9],
                    "cause": ["clerical_band"],
                }
            ),
            run_id=None,
            model_version=None,
            now=context_now(),
        )
        uow.commit()
        item = review.list_items(uow.connection)[-1].id
    r = cli.invoke(app, ["review", "list"])
    assert r.exit_code == 0
    assert str(item) in r.output
    # what a person needs to decide: both records side by side and the model's evidence
    r = cli.invoke(app, ["review", "show", str(item)])
    assert r.exit_code == 0, r.output
    assert "the model's evidence" in r.output
    assert "forename" in r.output
    r = cli.invoke(app, ["review", "show", str(item), "--json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["id"] == item
    assert {c["comparison"] for c in shown["evidence"]["comparisons"]} >= {
        "forename", "surname", "dob", "nhs"}
    assert shown["left"]["record"]["given_name"]
    total = shown["evidence"]["prior_weight"] + sum(
        c["match_weight"] for c in shown["evidence"]["comparisons"])
    assert abs(total - shown["evidence"]["match_weight"]) < 0.01
    r = cli.invoke(app, ["review", "decide", str(item), "--same", "--reason", "checked"])
    assert r.exit_code == 0, r.output
    with UnitOfWork(engine) as uow:
        conn = uow.connection
        children = {
            c
            for (c,) in conn.execute(
                select(record_link.c.child_key)
                .join(source_record, record_link.c.record_key == source_record.c.id)
                .where(source_record.c.source_record_id.in_([p["source_record_id"] for p in pair]))
            )
        }
        assert len(children) == 1
        assert conn.execute(
            select(merge_event.c.kind).order_by(merge_event.c.id)
        ).scalars().all() == ["unmerge", "merge"]
        # the survivor's record, assembled by survivorship; the old id still resolves
        survivor = conn.execute(
            select(child.c.child_id).where(child.c.id == children.pop())
        ).scalar_one()
        rec = load_child_record(conn, survivor)
        assert rec.record.child_id == survivor
        assert rec.record.gp_practice is not None
        assert rec.record.education_setting is not None
    r = cli.invoke(app, ["review", "decide", str(item), "--different"])
    assert r.exit_code == 1
    assert "already decided" in r.output

    # every one of those actions is on the audit trail, and the trail verifies
    with UnitOfWork(engine) as uow:
        actions = [e.action for e in trail.recent(uow.connection, last=100)]
    for action in (AuditAction.IMPORT, AuditAction.LINK_RUN, AuditAction.EXPORT,
                   AuditAction.UNMERGE, AuditAction.REVIEW_DECISION, AuditAction.REVIEW_VIEW):
        assert action in actions, action
    assert actions.count(AuditAction.IMPORT) == 2
    r = cli.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0, r.output


def context_now():  # type: ignore[no-untyped-def]
    from contactpoint.db.base import utcnow

    return utcnow()


def test_import_then_link_in_one_command(cli: CliRunner, tmp_path: Path) -> None:
    """``import --link`` links what landed, even when another file was refused (exit 1)."""
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    _write_feeds(feeds, n=40)
    bad = feeds / "bad.csv"
    bad.write_text("source_record_id,given_name\nX1,Amy\n")  # no manifest, no required columns
    r = cli.invoke(app, ["import", str(feeds / "NHS-PDS.csv"), str(feeds / "DFE-CENSUS.csv"),
                         str(bad), "--link"])
    assert r.exit_code == 1, r.output
    assert "refused" in r.output
    assert "initial" in r.output
    with UnitOfWork(context.engine()) as uow:
        conn = uow.connection
        records = conn.execute(select(source_record.c.id)).scalars().all()
        linked = conn.execute(select(record_link.c.record_key)).scalars().all()
    assert records
    assert sorted(linked) == sorted(records)
