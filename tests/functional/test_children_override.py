"""The shield over JSON, end to end, on SQLite and PostgreSQL: a council team shields a child,
an ordinary practitioner finds it only by its visible fields; the child-protection override
(per-user grant, step-up, reason) shows the full record once, audited, and opens an
investigation that the council decides and the auditor sees.

The population (``tests/search_population.py``) is linked once per module and backend; this
module has its own database, so shielding children here touches no other test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Role, permissions_for
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.children import override as override_service
from contactpoint.council.tables import investigation
from contactpoint.db.tables import child
from contactpoint.errors import PermissionDenied
from search_population import PEOPLE, load

REASON = {"X-Contactpoint-Reason": "section 47 enquiry"}
WHY = "police child abuse investigation: strategy meeting today"
RESTRICTED = {"child_id", "names", "gender", "date_of_birth", "shielded", "request_contact",
              "fields_shown"}


@pytest.fixture(scope="module")
def ids(db: Engine) -> dict[str, str]:
    with db.begin() as conn:
        return load(conn)


def la_of(db: Engine, child_id: str) -> str:
    with db.connect() as conn:
        la = conn.execute(select(child.c.owning_la).where(child.c.child_id == child_id)
                          ).scalar_one()
    assert la, "the population's children are allocated from their postcode district"
    return str(la)


Make = Callable[..., Account]


@pytest.fixture
def account(db: Engine, clock: FakeClock) -> Make:
    def make(role: Role = Role.PRACTITIONER, la: str = "LA1", kind: str = "police") -> Account:
        with db.begin() as conn:
            s = make_service(conn, clock)
            return make_user(s, make_org(s, kind="council" if role is Role.COUNCIL_TEAM
                                         else kind, la_code=la), role)

    return make


@pytest.fixture
def login(app: FastAPI, clock: FakeClock) -> Callable[[Account], TestClient]:
    def sign_in(who: Account) -> TestClient:
        clock.next_totp_step()
        client = TestClient(app, base_url="https://testserver")
        response = client.post("/api/auth/login", json=who.login_body(clock()))
        assert response.status_code == 200, response.text
        return client

    return sign_in


def search(client: TestClient, **criteria: Any) -> list[dict[str, Any]]:
    response = client.post("/api/children/search", json={"reason": "welfare check", **criteria})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def by_name(key: str) -> dict[str, str]:
    p = PEOPLE[key]
    return {"given_name": p.given, "family_name": p.family, "date_of_birth": p.dob.isoformat()}


def shield(client: TestClient, child_id: str, clock: FakeClock) -> None:
    review_on = clock().date().replace(year=clock().year + 1).isoformat()
    response = client.post(f"/api/children/{child_id}/shield",
                           json={"reason": "family in a refuge", "review_on": review_on})
    assert response.status_code == 200, response.text


def investigations_count(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(investigation)).scalar_one())


def test_a_shield_set_over_json_hides_the_child_from_an_ordinary_search(
    ids: dict[str, str], account: Make, login: Callable[[Account], TestClient],
    clock: FakeClock, db: Engine
) -> None:
    cid, p = ids["TRANSLIT"], PEOPLE["TRANSLIT"]
    by_postcode = {"family_name": p.family, "date_of_birth": p.dob.isoformat(),
                   "postcode": p.postcode}
    by_district = {"given_name": p.given, "date_of_birth": p.dob.isoformat(),
                   "postcode": p.postcode.split()[0]}
    worker = login(account())
    before = search(worker, **by_postcode)
    assert before[0]["child_id"] == cid  # found by postcode while unshielded
    team = login(account(Role.COUNCIL_TEAM, la=la_of(db, cid)))
    shield(team, cid, clock)

    worker = login(account())
    found = search(worker, **by_name("TRANSLIT"))
    assert found[0]["child_id"] == cid
    assert set(found[0]) == {"child_id", "confidence", "confidence_band", "given_name",
                             "family_name", "date_of_birth", "sex"}  # no town, no district
    assert cid not in {r["child_id"] for r in search(worker, **by_postcode)}
    assert cid not in {r["child_id"] for r in search(worker, **by_district)}
    view = worker.get(f"/api/children/{cid}", headers=REASON)
    assert view.status_code == 200, view.text
    assert set(view.json()) == RESTRICTED
    assert p.postcode not in view.text
    assert p.address not in view.text
    assert "07700" not in view.text  # the carers' phone
    # the council team still finds the child by its postcode
    assert search(team, **by_postcode)[0]["child_id"] == cid


def test_the_override_shows_the_record_once_audited_and_opens_an_investigation(
    ids: dict[str, str], account: Make, login: Callable[[Account], TestClient],
    clock: FakeClock, db: Engine
) -> None:
    cid, p = ids["SHIELDED"], PEOPLE["SHIELDED"]
    la = la_of(db, cid)
    team_account = account(Role.COUNCIL_TEAM, la=la)
    officer = account(la=la)
    auditor = account(Role.AUDITOR, kind="other")

    o = login(officer)
    search(o, **by_name("SHIELDED"))
    opened_before = investigations_count(db)
    # no grant yet: refused, and nothing opened
    refused = o.post(f"/api/children/{cid}/override", json={"reason": WHY})
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert "shield-override" in refused.json()["detail"]
    with db.connect() as conn:  # the refused attempt is audited, and opened nothing
        tried = [e for e in trail.for_subject(conn, f"child:{cid}")
                 if e.action == AuditAction.SHIELD_OVERRIDE]
    assert [(e.details["outcome"], e.details["refusal"]) for e in tried] == [
        ("refused", "no_grant")]
    assert investigations_count(db) == opened_before

    t = login(team_account)
    granted = t.post("/api/council/grants", json={
        "username": officer.username, "permission": "record:shield:override",
        "reason": "police child abuse investigation team"})
    assert granted.status_code == 200, granted.text

    # a reason is required; step-up is required
    for body in ({}, {"reason": "   "}):
        no_reason = o.post(f"/api/children/{cid}/override", json=body)
        assert no_reason.status_code == 422
        assert no_reason.json()["code"] == "reason_required"
    clock.advance(minutes=6)
    stale = o.post(f"/api/children/{cid}/override", json={"reason": WHY})
    assert stale.status_code == 401
    assert stale.json()["code"] == "reauthentication_required"
    assert investigations_count(db) == opened_before

    o = login(officer)  # signed in again: step-up satisfied
    ordinary = o.get(f"/api/children/{cid}", headers=REASON)
    assert set(ordinary.json()) == RESTRICTED
    done = o.post(f"/api/children/{cid}/override", json={"reason": WHY})
    assert done.status_code == 200, done.text
    full = done.json()
    assert full["child_id"] == cid
    assert full["shielded"] is True
    assert full["whereabouts"]["address"]["postcode"] == p.postcode
    assert full["nhs_number"] == p.nhs
    assert full["upn"] == p.upn
    assert full["carers"][0]["name"] == f"Kate {p.family}"
    assert "request_contact" not in full
    assert "provenance" not in full  # the council team's alone
    iid = full["investigation_id"]
    assert investigations_count(db) == opened_before + 1

    # one viewing only: the next ordinary view is restricted again
    again = o.get(f"/api/children/{cid}", headers=REASON)
    assert again.status_code == 200
    assert set(again.json()) == RESTRICTED
    assert p.postcode not in again.text

    # audited with the reason, in order: the investigation, then the override
    with db.connect() as conn:
        entries = trail.for_subject(conn, f"child:{cid}")
    overrides = [e for e in entries if e.action == AuditAction.SHIELD_OVERRIDE
                 and e.details["outcome"] == "shown"]
    assert len(overrides) == 1
    assert overrides[0].reason == WHY
    assert overrides[0].actor == f"user:{officer.username}"
    assert overrides[0].details["investigation"] == iid
    assert "whereabouts" in overrides[0].details["fields"]
    assert [e.action for e in entries][-3:] == [
        AuditAction.INVESTIGATION_OPEN, AuditAction.SHIELD_OVERRIDE, AuditAction.CHILD_VIEW]

    # the responsible council sees it and records the outcome; the auditor sees the outcome
    t = login(team_account)
    listed = {i["id"]: i for i in t.get("/api/council/investigations").json()}
    assert listed[iid]["reason"] == WHY
    assert listed[iid]["username"] == officer.username
    assert listed[iid]["status"] == "open"
    assert iid in {i["id"] for i in t.get("/api/council/worklist").json()["investigations"]}
    outcome = t.post(f"/api/council/investigations/{iid}/outcome",
                     json={"outcome": "referred", "reason": "referred to the LADO"})
    assert outcome.status_code == 200, outcome.text
    a = login(auditor)
    seen = {i["id"]: i for i in a.get("/api/audit/investigations").json()}
    assert seen[iid]["outcome"] == "referred"
    assert seen[iid]["la_code"] == la

    # a revoked grant refuses again
    revoked = t.post(f"/api/council/grants/{granted.json()['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    o = login(officer)
    search(o, **by_name("SHIELDED"))
    after = o.post(f"/api/children/{cid}/override", json={"reason": WHY})
    assert after.status_code == 403
    assert investigations_count(db) == opened_before + 1


def test_the_override_refuses_an_unshielded_child_and_unreached_ids(
    ids: dict[str, str], account: Make, login: Callable[[Account], TestClient],
    db: Engine
) -> None:
    la = la_of(db, ids["SHIELDED"])
    team = login(account(Role.COUNCIL_TEAM, la=la))
    officer = account(la=la)
    granted = team.post("/api/council/grants", json={
        "username": officer.username, "permission": "record:shield:override",
        "reason": "child protection social worker"})
    assert granted.status_code == 200, granted.text
    o = login(officer)
    before = investigations_count(db)

    search(o, **by_name("NICK"))
    plain = o.post(f"/api/children/{ids['NICK']}/override", json={"reason": WHY})
    assert plain.status_code == 409
    assert "no override is needed" in plain.json()["detail"]
    with db.connect() as conn:
        attempts = [e for e in trail.for_subject(conn, f"child:{ids['NICK']}")
                    if e.action == AuditAction.SHIELD_OVERRIDE]
    assert [(e.details["outcome"], e.details["refusal"], e.reason) for e in attempts] == [
        ("refused", "not_shielded", WHY)]  # a refused attempt is evidence too

    # a shielded child no search of yours returned, an unknown id, a malformed one: the
    # view's one refusal (the override is no way round anti-browsing)
    view_refusal = o.get("/api/children/000000999990", headers=REASON)
    assert view_refusal.status_code == 404
    for asked in (ids["SHIELDED"], "000000999990", "x" * 40):
        r = o.post(f"/api/children/{asked}/override", json={"reason": WHY})
        assert r.status_code == 404, (asked, r.text)
        assert r.json() == view_refusal.json()
    assert investigations_count(db) == before
    with db.connect() as conn:
        refused = [e for e in trail.for_subject(conn, f"child:{ids['SHIELDED']}")
                   if e.action == AuditAction.SHIELD_OVERRIDE
                   and e.actor == f"user:{officer.username}"]
    assert [e.details["outcome"] for e in refused] == ["refused"]
    assert refused[0].reason == WHY


def test_the_service_refuses_a_machine_client_and_shares_the_callers_transaction(
    ids: dict[str, str], account: Make, login: Callable[[Account], TestClient],
    db: Engine, clock: FakeClock
) -> None:
    cid = ids["SHIELDED"]
    la = la_of(db, cid)
    team = account(Role.COUNCIL_TEAM, la=la)
    with db.connect() as conn:
        user = make_service(conn, clock).user(team.username)
    machine = Principal("client", user.id, "cms", user.organisation, None,
                        permissions_for(Role.PRACTITIONER))
    with db.begin() as conn, pytest.raises(PermissionDenied, match="signed-in person"):
        override_service.override_shield(conn, machine, cid, reason=WHY, now=clock())

    # a council team holds the permission by role (and may reach any child it is involved
    # with or searched for); the override writes nothing once the caller rolls back
    person = Principal("user", user.id, user.username, user.organisation, user.role,
                       permissions_for(Role.COUNCIL_TEAM))
    search(login(team), **by_name("SHIELDED"))
    before = investigations_count(db)
    with db.connect() as conn:
        trans = conn.begin()
        outcome = override_service.override_shield(conn, person, cid, reason=WHY, now=clock())
        assert outcome.child is not None
        assert outcome.investigation is not None
        assert investigations_count_in(conn) == before + 1
        trans.rollback()
    assert investigations_count(db) == before
    with db.connect() as conn:
        assert not [e for e in trail.for_subject(conn, f"child:{cid}")
                    if e.action == AuditAction.SHIELD_OVERRIDE
                    and e.actor == f"user:{team.username}"]


def investigations_count_in(conn: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(investigation)).scalar_one())


def test_the_openapi_document_describes_the_override(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/children/{child_id}/override"]["post"]
    assert "step-up" in op["summary"]
    assert {"401", "403", "404", "409", "422"} <= set(op["responses"])
    assert [p["name"] for p in op["parameters"]] == ["child_id"]  # the reason is in the body
    body_ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
    assert set(body["properties"]) == {"reason"}
    out_ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    out = spec["components"]["schemas"][out_ref.rsplit("/", 1)[-1]]
    child_view = spec["components"]["schemas"]["ChildOut"]["properties"]
    assert set(out["properties"]) == set(child_view) | {"investigation_id"}
