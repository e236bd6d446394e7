"""Council protection over JSON, on SQLite and PostgreSQL: shields (with step-up), brokered
contact, grants and investigations, children missing education (JSON and CSV), the work list
and the national report. Children are made by a real link run over records written directly."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select, update

from contactpoint.access.permissions import GrantablePermission, Role
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.audit.trail import AuditAction
from contactpoint.council import grants, investigations
from contactpoint.db.tables import child, source_record
from contactpoint.linking import history, service
from integration.test_link_service import StandIn, add_extract, add_record
from links import child_of, queue

from .test_api_admin import audit_actions, signed_in


def new_child(db: Engine, clock: FakeClock, tmp_path: Path, source: str, dob: date,
              **more: Any) -> tuple[int, str]:
    """One child from one record of ``source``, linked: ``(record key, child id)``."""
    with db.begin() as conn:
        e = add_extract(conn, source, on=clock().date())
        key = add_record(conn, e, secrets.token_hex(6), "Kid", secrets.token_hex(5), dob,
                         source_code=source, **more)
        service.link(conn, StandIn(), workdir=tmp_path, now=clock())
        ck = child_of(conn, key)
        assert ck is not None
        return key, history.child_by_key(conn, ck).child_id


def team_and_practitioner(db: Engine, clock: FakeClock, la: str) -> tuple[Account, Account]:
    with db.begin() as conn:
        s = make_service(conn, clock)
        team = make_user(s, make_org(s, la_code=la), Role.COUNCIL_TEAM)
        worker = make_user(s, make_org(s, kind="school", la_code=la))
    return team, worker


def test_a_council_shields_its_child_with_step_up_and_removes_it(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, cid = new_child(db, clock, tmp_path, "LA-CSC-901", date(2016, 1, 1))
    team, _ = team_and_practitioner(db, clock, "901")
    other, _ = team_and_practitioner(db, clock, "902")
    review_on = (clock() + timedelta(days=180)).date().isoformat()
    body = {"reason": "family in a refuge", "review_on": review_on}

    t = signed_in(app, team, clock)
    clock.advance(minutes=6)  # past the step-up window
    stale = t.post(f"/api/children/{cid}/shield", json=body)
    assert stale.status_code == 401
    assert stale.json()["code"] == "reauthentication_required"
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    set_ = t.post(f"/api/children/{cid}/shield", json=body)
    assert set_.status_code == 200, set_.text
    assert set_.json()["status"] == "active"
    assert set_.json()["review_on"] == review_on
    with db.connect() as conn:
        assert conn.execute(select(child.c.shielded).where(child.c.child_id == cid)).scalar()

    # another council's team, and an unknown child: the same refusal
    o = signed_in(app, other, clock)
    theirs = o.post(f"/api/children/{cid}/shield", json=body)
    unknown = o.post("/api/children/0000000000/shield", json=body)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    bad_date = t.post(f"/api/children/{cid}/shield",
                      json={"reason": "x", "review_on": clock().date().isoformat()})
    assert bad_date.status_code == 422

    removed = t.post(f"/api/children/{cid}/unshield", json={"reason": "family rehoused"})
    assert removed.status_code == 200, removed.text
    assert [s["status"] for s in removed.json()] == ["removed"]
    history_ = t.get(f"/api/children/{cid}/shields").json()
    assert history_[0]["removal_reason"] == "family rehoused"
    assert audit_actions(db, f"child:{cid}")[-2:] == [AuditAction.SHIELD_SET,
                                                      AuditAction.SHIELD_REMOVE]
    evidence = t.get(f"/api/children/{cid}/responsibility").json()
    assert evidence["la_code"] == "901"
    assert evidence["evidence"][0]["kind"] == "council_feed"
    assert o.get(f"/api/children/{cid}/responsibility").status_code == 404


def shield(db: Engine, clock: FakeClock, team: Account, app: FastAPI, cid: str,
           days: int = 180) -> None:
    t = signed_in(app, team, clock)
    r = t.post(f"/api/children/{cid}/shield", json={
        "reason": "risk", "review_on": (clock() + timedelta(days=days)).date().isoformat()})
    assert r.status_code == 200, r.text


def test_brokered_contact_accepted_and_declined_refusals_indistinguishable(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, shielded = new_child(db, clock, tmp_path, "LA-CSC-903", date(2015, 5, 5))
    _, open_child = new_child(db, clock, tmp_path, "LA-CSC-903", date(2015, 6, 6))
    team, worker = team_and_practitioner(db, clock, "903")
    shield(db, clock, team, app, shielded)
    clock.next_totp_step()
    p = signed_in(app, worker, clock)
    ask = {"reason": "school nurse follow-up", "contact_details": "Nurse Bell, 0113 496 0000"}
    refusals = [p.post(f"/api/children/{c}/contact-requests", json=ask)
                for c in ("0000000000", "not-an-id", open_child)]
    assert {r.status_code for r in refusals} == {404}
    assert len({r.text for r in refusals}) == 1
    first = p.post(f"/api/children/{shielded}/contact-requests", json=ask)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending"
    second = p.post(f"/api/children/{shielded}/contact-requests", json=ask).json()

    clock.next_totp_step()
    t = signed_in(app, team, clock)
    pending = t.get("/api/council/contact-requests", params={"status": "pending"}).json()
    assert {r["id"] for r in pending} >= {first.json()["id"], second["id"]}
    mine = next(r for r in pending if r["id"] == first.json()["id"])
    assert mine["contact_details"] == ask["contact_details"]
    assert mine["requester"] == worker.username
    listed = t.get("/api/council/worklist").json()["contact_requests"]
    assert first.json()["id"] in {r["id"] for r in listed}
    ok = t.post(f"/api/council/contact-requests/{first.json()['id']}/decision",
                json={"outcome": "accept"})
    assert ok.status_code == 200, ok.text
    no_reason = t.post(f"/api/council/contact-requests/{second['id']}/decision",
                       json={"outcome": "decline"})
    assert no_reason.status_code == 422
    no = t.post(f"/api/council/contact-requests/{second['id']}/decision",
                json={"outcome": "decline", "reason": "family declines contact"})
    assert no.json()["status"] == "declined"
    again = t.post(f"/api/council/contact-requests/{second['id']}/decision",
                   json={"outcome": "accept"})
    assert again.status_code == 409

    seen = {r["id"]: r for r in p.get("/api/contact-requests").json()}
    assert seen[first.json()["id"]]["status"] == "accepted"
    assert seen[second["id"]]["status"] == "declined"
    assert seen[second["id"]]["decision_reason"] == "family declines contact"
    for r in seen.values():  # nothing of the child's comes back to the practitioner
        assert set(r) == {"id", "child_id", "status", "created_at", "decided_at",
                          "decision_reason"}
    other_team, _ = team_and_practitioner(db, clock, "904")
    o = signed_in(app, other_team, clock)
    assert o.post(f"/api/council/contact-requests/{first.json()['id']}/decision",
                  json={"outcome": "accept"}).status_code == 404
    assert AuditAction.CONTACT_DECISION in audit_actions(db, f"child:{shielded}")


def test_grants_by_the_council_and_an_override_opens_an_investigation(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    key, cid = new_child(db, clock, tmp_path, "LA-CSC-905", date(2014, 2, 2))
    team, officer = team_and_practitioner(db, clock, "905")
    other_team, _ = team_and_practitioner(db, clock, "906")
    with db.begin() as conn:
        s = make_service(conn, clock)
        auditor = make_user(s, make_org(s, kind="other"), Role.AUDITOR)
    shield(db, clock, team, app, cid)
    body = {"username": officer.username, "permission": "record:shield:override",
            "reason": "police child abuse investigation team"}
    clock.next_totp_step()
    o = signed_in(app, other_team, clock)
    assert o.post("/api/council/grants", json=body).status_code == 403  # not their area
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    granted = t.post("/api/council/grants", json=body)
    assert granted.status_code == 200, granted.text
    assert t.post("/api/council/grants", json=body).status_code == 409
    with db.connect() as conn:
        user = make_service(conn, clock).user(officer.username)
        assert grants.has_grant(conn, user.id, GrantablePermission.RECORD_SHIELD_OVERRIDE)
    assert granted.json()["id"] in {g["id"] for g in t.get("/api/council/grants").json()}

    # the view's override calls this in its own transaction (built by the view work)
    from contactpoint.access.models import Principal
    from contactpoint.access.permissions import permissions_for

    with db.begin() as conn:
        ck = child_of(conn, key)
        assert ck is not None
        user = make_service(conn, clock).user(officer.username)
        who = Principal("user", user.id, user.username, user.organisation, user.role,
                        permissions_for(user.role))
        opened = investigations.open_investigation(conn, ck, who, "suspected abuse: urgent",
                                                   now=clock())
    assert opened.la_code == "905"
    assert opened.status == "open"
    listed = t.get("/api/council/worklist").json()["investigations"]
    assert opened.id in {i["id"] for i in listed}
    assert o.post(f"/api/council/investigations/{opened.id}/outcome",
                  json={"outcome": "justified"}).status_code == 404
    bad = t.post(f"/api/council/investigations/{opened.id}/outcome", json={"outcome": "fine"})
    assert bad.status_code == 422
    done = t.post(f"/api/council/investigations/{opened.id}/outcome",
                  json={"outcome": "justified", "reason": "s.47 enquiry under way"})
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "justified"
    clock.next_totp_step()
    a = signed_in(app, auditor, clock)
    seen = {i["id"]: i for i in a.get("/api/audit/investigations").json()}
    assert seen[opened.id]["outcome"] == "justified"
    assert seen[opened.id]["username"] == officer.username
    assert t.get("/api/audit/investigations").status_code == 403
    assert audit_actions(db, f"child:{cid}")[-2:] == [AuditAction.INVESTIGATION_OPEN,
                                                      AuditAction.INVESTIGATION_OUTCOME]
    revoked = t.post(f"/api/council/grants/{granted.json()['id']}/revoke")
    assert revoked.status_code == 200
    with db.connect() as conn:
        assert not grants.has_grant(conn, user.id, GrantablePermission.RECORD_SHIELD_OVERRIDE)


def test_children_missing_education_against_known_gaps(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    today = clock().date()
    src = "LA-CSC-907"

    def school(start: date, end: date | None = None) -> list[dict[str, str]]:
        item = {"service_type": "education", "org_code": "9072001", "org_name": "=Oak School",
                "start": start.isoformat()}
        if end is not None:
            item["end"] = end.isoformat()
        return [item]

    def years(n: int) -> date:
        return date(today.year - n, today.month, 1)

    at_school = new_child(db, clock, tmp_path, src, years(8),
                          involvements=school(date(2025, 9, 1)))[1]
    never = new_child(db, clock, tmp_path, src, years(9))[1]
    left = new_child(db, clock, tmp_path, src, years(10),
                     involvements=school(date(2024, 9, 1), today - timedelta(days=60)))[1]
    just_left = new_child(db, clock, tmp_path, src, years(11),
                          involvements=school(date(2024, 9, 1), today - timedelta(days=10)))[1]
    new_child(db, clock, tmp_path, src, years(3))  # too young
    new_child(db, clock, tmp_path, src, years(17))  # past compulsory school age
    new_child(db, clock, tmp_path, "LA-CSC-908", years(9))  # another council's
    # a pupil whose school's census no longer holds her (record retired 100 days ago)
    key, withdrawn = new_child(db, clock, tmp_path, src, years(12))
    with db.begin() as conn:
        e = add_extract(conn, "DFE-CENSUS", on=today)
        rec = add_record(conn, e, secrets.token_hex(6), "Kid", "Withdrawn", years(12),
                         source_code="DFE-CENSUS", involvements=school(date(2022, 9, 1)))
        service.link(conn, StandIn(), workdir=tmp_path, now=clock())
        ck, cr = child_of(conn, key), child_of(conn, rec)
        assert ck is not None
        assert cr is not None
        history.merge(conn, ck, cr, actor="test", now=clock())
        conn.execute(update(source_record).where(source_record.c.id == rec).values(
            record_status="retired", updated_at=clock() - timedelta(days=100)))
        queue(conn, rec)
        service.link(conn, StandIn(), workdir=tmp_path, now=clock())
    team, worker = team_and_practitioner(db, clock, "907")
    t = signed_in(app, team, clock)
    got = t.get("/api/council/missing-education")
    assert got.status_code == 200, got.text
    rows = {r["child_id"]: r for r in got.json()["children"]}
    assert set(rows) == {never, left, withdrawn}
    assert rows[never]["reason"] == "no_setting"
    assert rows[never]["last_setting_code"] is None
    assert rows[left]["reason"] == "setting_ended"
    assert rows[left]["last_setting_code"] == "9072001"
    assert rows[withdrawn]["last_setting_end"] == (today - timedelta(days=100)).isoformat()
    assert at_school not in rows
    assert just_left not in rows
    shorter = t.get("/api/council/missing-education", params={"grace_days": 5}).json()
    assert just_left in {r["child_id"] for r in shorter["children"]}
    exported = t.get("/api/council/missing-education.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["child_id"] for r in table} == set(rows)
    assert next(r for r in table if r["child_id"] == left)["last_setting_name"] == "'=Oak School"
    clock.next_totp_step()
    assert signed_in(app, worker, clock).get("/api/council/missing-education").status_code == 403
    assert audit_actions(db, "council:907") == [AuditAction.CME_REPORT] * 3


def test_work_list_shield_reviews_transfers_and_the_national_report(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    key, cid = new_child(db, clock, tmp_path, "NHS-PDS", date(2015, 1, 1), postcode="TR1 1AA")
    _, nobody = new_child(db, clock, tmp_path, "NHS-PDS", date(2015, 2, 2))
    cornwall, worker = team_and_practitioner(db, clock, "908")
    shield(db, clock, cornwall, app, cid, days=10)  # review due within the notice window
    with db.begin() as conn:  # moves to Leeds
        conn.execute(update(source_record).where(source_record.c.id == key).values(
            postcode="LS2 9JT"))
        queue(conn, key)
        service.link(conn, StandIn(), workdir=tmp_path, now=clock())
    leeds, _ = team_and_practitioner(db, clock, "383")
    clock.next_totp_step()
    c = signed_in(app, cornwall, clock)
    out = c.get("/api/council/worklist").json()
    assert {(x["child_id"], x["direction"]) for x in out["transfers"]} == {(cid, "out")}
    clock.next_totp_step()
    ld = signed_in(app, leeds, clock)
    inbox = ld.get("/api/council/worklist").json()
    assert (cid, "in") in {(x["child_id"], x["direction"]) for x in inbox["transfers"]}
    assert [r["state"] for r in inbox["shield_reviews"] if r["child_id"] == cid] == ["due"]
    clock.advance(days=11)
    clock.next_totp_step()
    ld = signed_in(app, leeds, clock)
    later = ld.get("/api/council/worklist").json()
    assert [r["state"] for r in later["shield_reviews"] if r["child_id"] == cid] == ["overdue"]
    assert signed_in(app, worker, clock).get("/api/council/worklist").status_code == 403

    with db.begin() as conn:
        s = make_service(conn, clock)
        admin = make_user(s, make_org(s, kind="other"), Role.NATIONAL_ADMIN)
    clock.next_totp_step()
    report = signed_in(app, admin, clock).get("/api/national/unallocated-children")
    assert report.status_code == 200, report.text
    assert nobody in report.json()["child_ids"]
    assert cid not in report.json()["child_ids"]
    assert ld.get("/api/national/unallocated-children").status_code == 403


