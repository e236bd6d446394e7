"""The council team's and the auditor's pages without a browser: the work list, brokered
contact, shields (step-up), the review page, a child's links and the unmerge, grants,
investigations, children missing education. Same services as the JSON API, so the same
refusals: a practitioner gets 403, another council's team the API's 404."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access.permissions import Role
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.council import investigations
from council_data import principal_of, review_pair
from links import child_of

from .test_api_admin import audit_actions, signed_in
from .test_api_council import new_child, shield, team_and_practitioner

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(client: TestClient, path: str = "/") -> str:
    page = client.get(path, follow_redirects=False)
    found = TOKEN.search(page.text)
    assert found, (path, page.status_code)
    return found.group(1)


def post(client: TestClient, path: str, data: dict[str, str | list[str]],
         csrf: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf or token(client), **data},
                       follow_redirects=False)


def test_a_practitioner_reaches_no_council_page(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    _, worker = team_and_practitioner(db, clock, "911")
    p = signed_in(app, worker, clock)
    for path in ("/council", "/council/missing-education", "/council/investigations",
                 "/council/grants", "/council/grants/new", "/review", "/review/1",
                 "/children/000000000000/shields", "/children/000000000000/links",
                 "/council/contact-requests/1", "/audit/investigations"):
        refused = p.get(path, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "You cannot do this" in refused.text
    assert "Work list" not in p.get("/").text


def test_work_list_shows_each_kind_of_work_with_links(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, cid = new_child(db, clock, tmp_path, "LA-CSC-912", date(2015, 3, 3))
    team, worker = team_and_practitioner(db, clock, "912")
    shield(db, clock, team, app, cid, days=10)
    clock.next_totp_step()
    p = signed_in(app, worker, clock)
    asked = p.post(f"/api/children/{cid}/contact-requests",
                   json={"reason": "health visitor", "contact_details": "HV Ames 0113"})
    assert asked.status_code == 200
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    page = t.get("/council")
    assert page.status_code == 200
    assert "<title>Work list – Contactpoint – GOV.UK</title>" in page.text
    assert f'href="/council/contact-requests/{asked.json()["id"]}"' in page.text
    assert f'href="/children/{cid}/shields"' in page.text
    assert "Due" in page.text
    home = t.get("/")
    for task in ("/council", "/review", "/council/missing-education", "/council/grants",
                 "/council/investigations"):
        assert f'href="{task}"' in home.text


def test_contact_decisions_accept_decline_and_another_councils_refusal(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, cid = new_child(db, clock, tmp_path, "LA-CSC-913", date(2015, 4, 4))
    team, worker = team_and_practitioner(db, clock, "913")
    other, _ = team_and_practitioner(db, clock, "914")
    shield(db, clock, team, app, cid)
    clock.next_totp_step()
    p = signed_in(app, worker, clock)
    ask = {"reason": "school nurse", "contact_details": "Nurse Bell, 0113 496 0001"}
    first = p.post(f"/api/children/{cid}/contact-requests", json=ask).json()["id"]
    second = p.post(f"/api/children/{cid}/contact-requests", json=ask).json()["id"]
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    page = t.get(f"/council/contact-requests/{first}")
    assert "Nurse Bell, 0113 496 0001" in page.text
    path = f"/council/contact-requests/{second}/decision"
    nothing = post(t, path, {})
    assert nothing.status_code == 422
    assert "Select whether to accept or decline the request" in nothing.text
    no_reason = post(t, path, {"outcome": "decline"})
    assert no_reason.status_code == 422
    assert "A reason is required to decline" in no_reason.text
    declined = post(t, path, {"outcome": "decline", "reason": "family declines"})
    assert declined.status_code == 303
    assert "Request declined" in t.get(declined.headers["location"]).text
    again = post(t, path, {"outcome": "accept"})
    assert again.status_code == 422
    assert "This request has been decided" in again.text
    accepted = post(t, f"/council/contact-requests/{first}/decision", {"outcome": "accept"})
    assert accepted.status_code == 303
    seen = {r["id"]: r["status"] for r in p.get("/api/contact-requests").json()}
    assert seen == {first: "accepted", second: "declined"}
    clock.next_totp_step()
    o = signed_in(app, other, clock)
    theirs = o.get(f"/council/contact-requests/{first}")
    missing = o.get("/council/contact-requests/999999")
    api = o.post(f"/api/council/contact-requests/{first}/decision", json={"outcome": "accept"})
    assert theirs.status_code == missing.status_code == api.status_code == 404
    assert "No such contact request" in theirs.text
    assert AuditAction.CONTACT_DECISION in audit_actions(db, f"child:{cid}")


def test_shield_with_step_up_history_and_unshield(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, cid = new_child(db, clock, tmp_path, "LA-CSC-915", date(2016, 5, 5))
    team, _ = team_and_practitioner(db, clock, "915")
    other, _ = team_and_practitioner(db, clock, "916")
    t = signed_in(app, team, clock)
    clock.advance(minutes=6)  # past the step-up window
    stale = t.get(f"/children/{cid}/shield", follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"] == f"/reauth?next=/children/{cid}/shield"
    assert post(t, f"/children/{cid}/shield", {"reason": "x"}).headers["location"] == \
        f"/reauth?next=/children/{cid}/shield"
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    form = t.get(f"/children/{cid}/shield")
    assert form.status_code == 200
    assert "Shield this child" in form.text
    csrf = TOKEN.search(form.text).group(1)  # type: ignore[union-attr]
    empty = post(t, f"/children/{cid}/shield", {}, csrf)
    assert empty.status_code == 422
    assert "Enter why the child&#39;s record must be shielded" in empty.text
    assert "Enter the date to review the shield by" in empty.text
    today = clock().date()
    bad = post(t, f"/children/{cid}/shield", {
        "reason": "refuge", "review_on-day": str(today.day), "review_on-month": str(today.month),
        "review_on-year": str(today.year)}, csrf)
    assert bad.status_code == 422
    assert "The review date must be after today and within a year" in bad.text
    review_on = today + timedelta(days=90)
    done = post(t, f"/children/{cid}/shield", {
        "reason": "family in a refuge", "review_on-day": str(review_on.day),
        "review_on-month": str(review_on.month), "review_on-year": str(review_on.year)}, csrf)
    assert done.status_code == 303
    assert done.headers["location"] == f"/children/{cid}/shields?done=shielded"
    shown = t.get(done.headers["location"])
    assert "Shield set" in shown.text
    assert "family in a refuge" in shown.text
    assert review_on.strftime("%-d %B %Y") in shown.text
    no_reason = post(t, f"/children/{cid}/unshield", {}, csrf)
    assert no_reason.status_code == 422
    removed = post(t, f"/children/{cid}/unshield", {"reason": "family rehoused"}, csrf)
    assert removed.status_code == 303
    history = t.get(removed.headers["location"]).text
    assert "Shield removed" in history
    assert "family rehoused" in history
    assert "not shielded" in history
    assert audit_actions(db, f"child:{cid}")[-2:] == [AuditAction.SHIELD_SET,
                                                      AuditAction.SHIELD_REMOVE]
    clock.next_totp_step()
    o = signed_in(app, other, clock)
    theirs = o.get(f"/children/{cid}/shields")
    unknown = o.get("/children/000000000000/shields")
    api = o.get(f"/api/children/{cid}/shields")
    assert theirs.status_code == unknown.status_code == api.status_code == 404
    assert post(o, f"/children/{cid}/shield", {
        "reason": "x", "review_on-day": str(review_on.day),
        "review_on-month": str(review_on.month),
        "review_on-year": str(review_on.year)}).status_code == 404


def test_review_page_side_by_side_decision_then_unmerge_from_the_history(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    item, left, right = review_pair(db, clock(), tmp_path, "917")
    team, worker = team_and_practitioner(db, clock, "917")
    t = signed_in(app, team, clock)
    assert f'href="/review/{item}"' in t.get("/council").text  # on the work list
    assert f'href="/review/{item}"' in t.get("/review").text
    page = t.get(f"/review/{item}")
    assert page.status_code == 200
    assert "Are these the same child?" in page.text
    assert page.text.count("Amelia") >= 2  # both records, side by side
    assert page.text.count("7 July 2014") == 2  # dates as GOV.UK writes them
    assert 'id="evidence"' in page.text
    assert "Starting point" in page.text
    assert "Match probability" in page.text
    csrf = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    nothing = post(t, f"/review/{item}/decision", {}, csrf)
    assert nothing.status_code == 422
    assert "Select whether these records are the same child" in nothing.text
    unsure = post(t, f"/review/{item}/decision", {"outcome": "unsure"}, csrf)
    assert unsure.headers["location"] == f"/review?unsure={item}"
    assert "still open" in t.get(unsure.headers["location"]).text
    same = post(t, f"/review/{item}/decision", {"outcome": "same", "reason": "same girl"}, csrf)
    assert same.status_code == 303, same.text
    assert "decided: the same child" in t.get(same.headers["location"]).text
    assert audit_actions(db, f"review:{item}")[-1] == AuditAction.REVIEW_DECISION
    assert AuditAction.REVIEW_VIEW in audit_actions(db, f"review:{item}")

    # the merged child's history, then the unmerge (step-up, a reason)
    links = t.get(f"/children/{right}/links")  # the absorbed id redirects to the survivor
    assert links.status_code == 200
    assert f"Child {left}" in links.text
    assert "Merge: 1 record from" in links.text
    refs = re.findall(r'<td class="govuk-table__cell">([0-9a-f]{12})</td>', links.text)
    assert len(refs) == 2
    clock.advance(minutes=6)
    stale = t.get(f"/children/{left}/unmerge", follow_redirects=False)
    assert stale.headers["location"] == f"/reauth?next=/children/{left}/unmerge"
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    form = t.get(f"/children/{left}/unmerge")
    values = re.findall(r'name="records" type="checkbox" value="([^"]+)"', form.text)
    assert len(values) == 2
    csrf = TOKEN.search(form.text).group(1)  # type: ignore[union-attr]
    empty = post(t, f"/children/{left}/unmerge", {}, csrf)
    assert empty.status_code == 422
    assert "Select the records to move out of this child" in empty.text
    assert "Enter why these records are another child" in empty.text
    every = post(t, f"/children/{left}/unmerge", {"records": values, "reason": "x"}, csrf)
    assert every.status_code == 422
    assert "An unmerge must leave at least one record on the child" in every.text
    split = post(t, f"/children/{left}/unmerge", {"records": [values[1]],
                                                  "reason": "twins after all"}, csrf)
    assert split.status_code == 303, split.text
    assert split.headers["location"].startswith(f"/children/{left}/links?moved=")
    after = t.get(split.headers["location"]).text
    assert "Records moved to child" in after
    assert "Unmerge: 1 record from" in after
    assert audit_actions(db, f"child:{left}")[-1] == AuditAction.UNMERGE
    clock.next_totp_step()
    p = signed_in(app, worker, clock)
    assert p.get(f"/children/{left}/links").status_code == 403
    assert p.get(f"/api/review/children/{left}/links").status_code == 403


def test_review_refuses_two_nhs_numbers_until_forced_with_a_reason(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    item, left, _ = review_pair(db, clock(), tmp_path, "918", nhs=("9434765919", "9434765870"))
    team, _ = team_and_practitioner(db, clock, "918")
    t = signed_in(app, team, clock)
    csrf = token(t, f"/review/{item}")
    refused = post(t, f"/review/{item}/decision", {"outcome": "same"}, csrf)
    assert refused.status_code == 422
    assert "carry different NHS numbers. To join them anyway" in refused.text
    assert 'name="force"' in refused.text
    no_reason = post(t, f"/review/{item}/decision", {"outcome": "same", "force": "yes"}, csrf)
    assert no_reason.status_code == 422
    assert "A forced decision needs a reason" in no_reason.text
    forced = post(t, f"/review/{item}/decision",
                  {"outcome": "same", "force": "yes", "reason": "NHS number typo"}, csrf)
    assert forced.status_code == 303
    assert "(forced)" in t.get(f"/children/{left}/links").text


def test_grants_with_step_up_refusals_and_revoke(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    team, officer = team_and_practitioner(db, clock, "919")
    _, elsewhere = team_and_practitioner(db, clock, "920")
    t = signed_in(app, team, clock)
    clock.advance(minutes=6)
    assert t.get("/council/grants").status_code == 200  # the list needs no step-up
    stale = t.get("/council/grants/new", follow_redirects=False)
    assert stale.headers["location"] == "/reauth?next=/council/grants/new"
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    csrf = token(t, "/council/grants/new")
    empty = post(t, "/council/grants", {}, csrf)
    assert empty.status_code == 422
    assert "Enter the username of the person" in empty.text
    ask = {"permission": "record:shield:override", "reason": "police CAIT officer"}
    outside = post(t, "/council/grants", {"username": elsewhere.username, **ask}, csrf)
    api = t.post("/api/council/grants", json={"username": elsewhere.username, **ask})
    assert outside.status_code == api.status_code == 403
    assert "You cannot grant permissions to this user" in outside.text
    granted = post(t, "/council/grants", {"username": officer.username, **ask}, csrf)
    assert granted.status_code == 303
    listing = t.get("/council/grants")
    assert officer.username in listing.text
    assert "police CAIT officer" in listing.text
    twice = post(t, "/council/grants", {"username": officer.username, **ask}, csrf)
    assert twice.status_code == 409
    assert "This user already holds this grant" in twice.text
    grant_id = re.search(r'action="/council/grants/(\d+)/revoke"', listing.text)
    assert grant_id
    revoked = post(t, f"/council/grants/{grant_id.group(1)}/revoke", {}, csrf)
    assert revoked.headers["location"] == "/council/grants?done=revoked"
    assert "Revoked" in t.get("/council/grants").text
    with db.connect() as conn:
        actions = [e.action for e in trail.for_subject(conn, f"user:{officer.username}")]
    assert actions[-2:] == [AuditAction.GRANT_ADD, AuditAction.GRANT_REVOKE]


def _override(db: Engine, clock: FakeClock, record_key: int, officer: Account) -> int:
    with db.begin() as conn:
        ck = child_of(conn, record_key)
        assert ck is not None
        return investigations.open_investigation(
            conn, ck, principal_of(conn, officer.username), "urgent safeguarding",
            now=clock()).id


def test_investigation_outcome_and_the_auditors_page(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    key, cid = new_child(db, clock, tmp_path, "LA-CSC-921", date(2013, 8, 8))
    team, officer = team_and_practitioner(db, clock, "921")
    other, _ = team_and_practitioner(db, clock, "922")
    number = _override(db, clock, key, officer)
    with db.begin() as conn:
        s = make_service(conn, clock)
        auditor = make_user(s, make_org(s, kind="other"), Role.AUDITOR)
    t = signed_in(app, team, clock)
    assert f'href="/council/investigations/{number}"' in t.get("/council/investigations").text
    page = t.get(f"/council/investigations/{number}")
    assert "urgent safeguarding" in page.text
    csrf = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    path = f"/council/investigations/{number}/outcome"
    empty = post(t, path, {}, csrf)
    assert empty.status_code == 422
    assert "Select the outcome of the investigation" in empty.text
    done = post(t, path, {"outcome": "referred", "reason": "to the employer"}, csrf)
    assert done.status_code == 303
    closed = t.get(done.headers["location"]).text
    assert "Outcome recorded" in closed
    assert "to the employer" in closed
    again = post(t, path, {"outcome": "justified"}, csrf)
    assert again.status_code == 422
    assert "This investigation is already closed" in again.text
    clock.next_totp_step()
    o = signed_in(app, other, clock)
    assert o.get(f"/council/investigations/{number}").status_code == 404
    assert post(o, path, {"outcome": "justified"}).status_code == 404
    assert f"/council/investigations/{number}\"" not in o.get("/council/investigations").text
    clock.next_totp_step()
    a = signed_in(app, auditor, clock)
    seen = a.get("/audit/investigations")
    assert seen.status_code == 200
    assert cid in seen.text
    assert "Referred" in seen.text
    assert officer.username in seen.text
    assert 'href="/audit/investigations"' in a.get("/").text
    assert t.get("/audit/investigations").status_code == 403
    with db.connect() as conn:
        listed = [e for e in trail.recent(conn, last=5)
                  if e.action == AuditAction.INVESTIGATION_LIST]
    assert listed
    assert listed[-1].actor == f"user:{auditor.username}"


def test_children_missing_education_page_and_its_csv_are_audited(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    today = clock().date()
    _, missing = new_child(db, clock, tmp_path, "LA-CSC-923",
                           date(today.year - 9, today.month, 1))
    new_child(db, clock, tmp_path, "LA-CSC-923", date(today.year - 3, today.month, 1))
    team, _ = team_and_practitioner(db, clock, "923")
    t = signed_in(app, team, clock)
    page = t.get("/council/missing-education")
    assert page.status_code == 200
    assert missing in page.text
    assert "No education setting recorded" in page.text
    assert "1 child" in page.text
    link = re.search(r'id="cme-csv" href="([^"]+)"', page.text)
    assert link
    exported = t.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert missing in exported.text
    bad = t.get("/council/missing-education", params={"grace_days": "lots"})
    assert bad.status_code == 422
    assert "Enter a whole number of days from 0 to 365" in bad.text
    with db.connect() as conn:
        runs = [e for e in trail.for_subject(conn, "council:923")
                if e.action == AuditAction.CME_REPORT]
    assert [e.details["export"] for e in runs] == [False, True]


def test_every_council_form_refuses_a_missing_token(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    team, _ = team_and_practitioner(db, clock, "924")
    t = signed_in(app, team, clock)
    for path in ("/council/contact-requests/1/decision", "/council/investigations/1/outcome",
                 "/children/000000000000/shield", "/children/000000000000/unshield",
                 "/review/1/decision", "/children/000000000000/unmerge", "/council/grants",
                 "/council/grants/1/revoke"):
        refused = t.post(path, data={"reason": "x"}, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "not sent from this service" in refused.text, path


def test_the_json_unmerge_is_the_same_service_with_step_up(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    item, left, right = review_pair(db, clock(), tmp_path, "925")
    team, worker = team_and_practitioner(db, clock, "925")
    t = signed_in(app, team, clock)
    assert t.post(f"/api/review/{item}/decision", json={"outcome": "same"}).status_code == 200
    links = t.get(f"/api/review/children/{right}/links")
    assert links.status_code == 200
    body = links.json()
    assert body["child_id"] == left
    assert [e["kind"] for e in body["events"]] == ["merge"]
    refs = [r["ref"] for r in body["records"]]
    assert len(refs) == 2
    ask = {"records": [refs[1]], "reason": "two children"}
    assert t.post(f"/api/review/children/{left}/unmerge",
                  json={"records": [refs[1]], "reason": ""}).status_code == 422
    clock.advance(minutes=6)
    stale = t.post(f"/api/review/children/{left}/unmerge", json=ask)
    assert stale.status_code == 401
    assert stale.json()["code"] == "reauthentication_required"
    clock.next_totp_step()
    t = signed_in(app, team, clock)
    done = t.post(f"/api/review/children/{left}/unmerge", json=ask)
    assert done.status_code == 200, done.text
    assert done.json()["from"] == left
    assert done.json()["to"] != left
    assert t.get(f"/children/{left}/links").text.count("Unmerge: 1 record") == 1
    clock.next_totp_step()
    p = signed_in(app, worker, clock)
    assert p.post(f"/api/review/children/{left}/unmerge", json=ask).status_code == 403


def test_the_national_report_of_children_with_no_council(
    app: FastAPI, db: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    _, placed = new_child(db, clock, tmp_path, "NHS-PDS", date(2015, 1, 1), postcode="TR1 1AA")
    _, nobody = new_child(db, clock, tmp_path, "NHS-PDS", date(2015, 2, 2))
    team, worker = team_and_practitioner(db, clock, "909")
    with db.begin() as conn:
        s = make_service(conn, clock)
        admin = make_user(s, make_org(s, kind="other"), Role.NATIONAL_ADMIN)
    clock.next_totp_step()
    a = signed_in(app, admin, clock)
    assert 'href="/national/unallocated"' in a.get("/").text
    page = a.get("/national/unallocated")
    assert page.status_code == 200
    assert "<title>Children with no responsible council – Contactpoint – GOV.UK</title>" in (
        page.text)
    listed = re.findall(r'<td class="govuk-table__cell">([0-9]+)</td>', page.text)
    assert nobody in listed
    assert placed not in listed
    assert audit_actions(db, "national:unallocated") == [AuditAction.UNALLOCATED_REPORT.value]
    for refused_user in (team, worker):  # a council team and a practitioner: not theirs
        clock.next_totp_step()
        refused = signed_in(app, refused_user, clock).get("/national/unallocated",
                                                          follow_redirects=False)
        assert refused.status_code == 403
