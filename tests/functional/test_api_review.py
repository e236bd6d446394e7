"""The review queue over JSON: reviewers see both records and the model's evidence, decide;
practitioners cannot; every view of the records and every decision is audited."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from fastapi import FastAPI
from sqlalchemy import Engine, select

from contactpoint.access.permissions import Role
from contactpoint.access.testing import FakeClock, make_org, make_service, make_user, unique
from contactpoint.audit.trail import AuditAction
from contactpoint.db.base import utcnow
from contactpoint.db.tables import source_record
from contactpoint.ingest.service import ImportOptions, import_file
from contactpoint.linking import review, service
from contactpoint.linking.models import EngineMatcher
from contactpoint.matching.engine import load_model

from .test_api_admin import audit_actions, signed_in

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def test_reviewers_see_the_evidence_and_decide_practitioners_cannot(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    with db.begin() as conn:
        s = make_service(conn, clock)
        area = unique("R")
        team = make_user(s, make_org(s, la_code=area), Role.COUNCIL_TEAM)
        teacher = make_user(s, make_org(s, kind="school", la_code=area))
    import_file(db, FEEDS / "pds_full_1.csv", ImportOptions(report_dir=tmp_path))
    with db.begin() as conn:
        service.link(conn, EngineMatcher(load_model()), workdir=tmp_path)
        a, b = conn.execute(select(source_record.c.id).order_by(source_record.c.id).limit(2)
                            ).scalars().all()
        review.queue_pairs(conn, pl.DataFrame({
            "record_key_l": [a], "record_key_r": [b], "child_key": [None],
            "match_probability": [0.9], "cause": ["clerical_band"]},
            schema_overrides={"child_key": pl.Int64()}), run_id=None, model_version=None,
            now=utcnow())
        item = review.list_items(conn)[-1].id

    practitioner = signed_in(app, teacher, clock)
    assert practitioner.get("/api/review").status_code == 403
    assert practitioner.get(f"/api/review/{item}").status_code == 403

    reviewer = signed_in(app, team, clock)
    listed = reviewer.get("/api/review").json()
    assert item in [i["id"] for i in listed]
    assert "given_name" not in str(listed)  # the list carries references, not personal data
    shown = reviewer.get(f"/api/review/{item}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["left"]["record"]["given_name"] == "Oliver"
    assert [c["comparison"] for c in body["evidence"]["comparisons"]][:3] == [
        "forename", "surname", "dob"]
    assert "v_nhs" in body["evidence"]["vetoes"]  # two different NHS numbers
    decided = reviewer.post(f"/api/review/{item}/decision",
                            json={"outcome": "different", "reason": "two children"})
    assert decided.status_code == 200, decided.text
    again = reviewer.post(f"/api/review/{item}/decision", json={"outcome": "same"})
    assert again.status_code == 409
    assert audit_actions(db, f"review:{item}") == [AuditAction.REVIEW_VIEW,
                                                   AuditAction.REVIEW_DECISION]
