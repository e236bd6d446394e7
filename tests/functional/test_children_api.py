"""Search and the child view over HTTP, on SQLite and PostgreSQL, with the real engine.

The population (``tests/search_population.py``) is linked once per module and backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from contactpoint.access import sessions
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.access.models import AuditContext
from contactpoint.access.permissions import Role
from contactpoint.access.tables import user_session
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.audit import oversight
from contactpoint.audit.tables import audit_event
from contactpoint.audit.trail import AuditAction
from contactpoint.children import view as view_service
from contactpoint.db.tables import child
from contactpoint.domain.confidence import band
from contactpoint.domain.search import ACCEPTED_TEXT
from contactpoint.domain.visibility import Viewer, ViewerRole
from contactpoint.linking import child_records, history
from search_population import PEOPLE, SCHOOL, load

REASON = {"X-Contactpoint-Reason": "safeguarding referral 123"}


@pytest.fixture(scope="module")
def ids(db: Engine) -> dict[str, str]:
    with db.begin() as conn:
        return load(conn)


Login = Callable[..., TestClient]


@pytest.fixture
def login(app: FastAPI, db: Engine, clock: FakeClock, ids: dict[str, str]) -> Login:
    def make(role: Role = Role.PRACTITIONER, org: str | None = None) -> TestClient:
        with db.begin() as conn:
            service = make_service(conn, clock)
            if org is None or service_has_no(service, org):
                org = make_org(service, code=org, la_code="LA1")
            account: Account = make_user(service, org, role)
        client = TestClient(app, base_url="https://testserver")
        client.headers["X-Test-Actor"] = f"user:{account.username}"  # for the tests' own use
        clock.next_totp_step()
        response = client.post("/api/auth/login", json=account.login_body(clock()))
        assert response.status_code == 200, response.text
        return client

    return make


def service_has_no(service: Any, code: str) -> bool:
    return not any(o.code == code for o in service.organisations())


def search(client: TestClient, **criteria: Any) -> list[dict[str, Any]]:
    response = client.post("/api/children/search", json={"reason": "school welfare", **criteria})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    confidences = [r["confidence"] for r in results]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert len(results) <= 10
    return results


def person(key: str, *fields: str) -> dict[str, Any]:
    p = PEOPLE[key]
    full = {"given_name": p.given, "family_name": p.family,
            "date_of_birth": p.dob.isoformat(), "postcode": p.postcode, "town": p.town,
            "nhs_number": p.nhs, "upn": p.upn}
    return {f: full[f] for f in fields}


# --- the contract ---------------------------------------------------------------------------


def test_a_reason_is_required(login: Login) -> None:
    client = login()
    for body in ({}, {"reason": "  "}):
        response = client.post("/api/children/search",
                               json={**body, **person("NICK", "nhs_number")})
        assert response.status_code == 422
        assert response.json()["code"] == "reason_required"


@pytest.mark.parametrize("criteria", [
    {"family_name": "Brennan", "date_of_birth": "2014-02-03"},
    {"given_name": "Alexander", "family_name": "Brennan"},
    {"postcode": "LS7 1AA"},
    {"given_name": "Alexander", "postcode": "LS7 1AA", "sex": "male"},
    {"given_name": "Alexander", "family_name": "Brennan", "born_from": "2010-01-01",
     "born_to": "2016-01-01", "postcode": "LS7"},  # six years
    {"given_name": "Alexander", "family_name": "Brennan", "born_from": "2013-01-01",
     "born_to": "2015-01-01"},  # no place
    {"date_of_birth": "2014-02-03", "sex": "male", "town": "Leeds"},
])
def test_broader_criteria_are_refused_naming_the_accepted_ones(
    login: Login, criteria: dict[str, Any]
) -> None:
    response = login().post("/api/children/search", json={"reason": "r", **criteria})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "search_criteria_refused"
    for combination in ACCEPTED_TEXT:
        assert combination in body["detail"]


@pytest.mark.parametrize(("key", "criteria"), [
    ("NICK", {"nhs_number": PEOPLE["NICK"].nhs}),
    ("NICK", {"upn": PEOPLE["NICK"].upn}),
    ("NICK", {"given_name": "Alexander", "family_name": "Brennan",
              "date_of_birth": "2014-02-03"}),
    ("NICK", {"family_name": "Brennan", "date_of_birth": "2014-02-03", "postcode": "LS7 1AA"}),
    ("NICK", {"given_name": "Alexander", "date_of_birth": "2014-02-03", "postcode": "ls71aa"}),
    ("NICK", {"given_name": "Alexander", "family_name": "Brennan", "born_from": "2012-06-01",
              "born_to": "2016-06-01", "postcode": "LS7"}),
    ("NICK", {"given_name": "Alexander", "family_name": "Brennan", "born_from": "2012-06-01",
              "born_to": "2016-06-01", "town": "Leeds", "sex": "male"}),
])
def test_every_accepted_combination_finds_the_child(
    login: Login, ids: dict[str, str], key: str, criteria: dict[str, Any]
) -> None:
    results = search(login(), **criteria)
    assert results[0]["child_id"] == ids[key]
    assert results[0]["confidence"] >= 0.5


@pytest.mark.parametrize(("key", "criteria"), [
    ("NICK", {"given_name": "Alex", "family_name": "Brennan", "date_of_birth": "2014-02-03"}),
    ("NICK", {"given_name": "Alexnder", "family_name": "Brenan", "date_of_birth": "2014-02-03"}),
    ("TRANSLIT", {"given_name": "Muhammad", "family_name": "Rahman",
                  "date_of_birth": "2013-09-21"}),
    ("FORMER", {"given_name": "Ruby", "family_name": "Oldman", "date_of_birth": "2012-11-30"}),
    ("SWAP", {"given_name": "Evie", "family_name": "Marsh", "date_of_birth": "2015-08-03"}),
    ("SWAP", {"family_name": "Marsh", "date_of_birth": "2015-03-08", "postcode": "LS1 1AA"}),
])
def test_realistic_noise_still_finds_the_child_first(
    login: Login, ids: dict[str, str], key: str, criteria: dict[str, Any]
) -> None:
    results = search(login(), **criteria)
    assert results, criteria
    assert results[0]["child_id"] == ids[key]


def test_a_twin_is_never_ranked_above_the_child_asked_for(
    login: Login, ids: dict[str, str]
) -> None:
    client = login()
    for asked, other in (("TWIN_A", "TWIN_B"), ("TWIN_B", "TWIN_A")):
        for fields in (("given_name", "family_name", "date_of_birth"),
                       ("given_name", "date_of_birth", "postcode")):
            results = search(client, **person(asked, *fields))
            order = [r["child_id"] for r in results]
            assert order[0] == ids[asked]
            if ids[other] in order:
                twin = results[order.index(ids[other])]
                assert twin["confidence"] < 0.1


def test_twins_the_query_cannot_tell_apart_are_tied_never_ordered(
    login: Login, ids: dict[str, str]
) -> None:
    """No forename (family name + date of birth + postcode): the twins share everything the
    query says, so they share the confidence (neither is "the" child) and come in child-id
    order, whichever twin was asked for."""
    client = login()
    for asked in ("TWIN_A", "TWIN_B"):
        for postcode in (PEOPLE[asked].postcode, "LS6"):
            results = search(client, **person(asked, "family_name", "date_of_birth"),
                             postcode=postcode)
            top = results[:2]
            assert {r["child_id"] for r in top} == {ids["TWIN_A"], ids["TWIN_B"]}
            assert top[0]["confidence"] == top[1]["confidence"] <= 0.5
            assert [r["child_id"] for r in top] == sorted(r["child_id"] for r in top)


def test_absent_children_do_not_come_back_at_high_confidence(login: Login) -> None:
    client = login()
    absent = [
        {"given_name": "Zebedee", "family_name": "Nobody", "date_of_birth": "2014-02-03"},
        # a third Whitfield born the same day, not in the index: the twins must not answer
        {"given_name": "Jacob", "family_name": "Whitfield", "date_of_birth": "2016-05-14"},
        {"given_name": "Jacob", "date_of_birth": "2016-05-14", "postcode": "LS6 2AB"},
    ]
    for criteria in absent:
        assert all(r["confidence"] < 0.9 for r in search(client, **criteria)), criteria
    assert search(client, nhs_number="9434765919") == [] or all(
        r["confidence"] < 0.9 for r in search(client, nhs_number="9434765919"))


def test_results_show_only_the_allowed_fields(login: Login, ids: dict[str, str]) -> None:
    (first, *_) = search(login(), **person("NICK", "given_name", "family_name",
                                           "date_of_birth"))
    assert set(first) <= {"child_id", "confidence", "confidence_band", "given_name",
                          "family_name", "date_of_birth", "sex", "town", "postcode_district"}
    assert first["confidence_band"] == band(first["confidence"]).value
    assert first["postcode_district"] == "LS7"
    assert first["town"] == "Leeds"


# --- shielding ------------------------------------------------------------------------------


@pytest.mark.parametrize("criteria", [
    person("SHIELDED", "nhs_number"),
    person("SHIELDED", "upn"),
    person("SHIELDED", "family_name", "date_of_birth", "postcode"),
    person("SHIELDED", "given_name", "date_of_birth", "postcode"),
    person("SHIELDED", "given_name", "family_name", "date_of_birth", "postcode"),
    {"given_name": "Shauna", "family_name": "Hidden", "born_from": "2014-01-01",
     "born_to": "2016-01-01", "town": "Leeds"},
])
def test_a_search_using_a_hidden_field_never_reveals_a_shielded_child(
    login: Login, ids: dict[str, str], criteria: dict[str, Any]
) -> None:
    results = search(login(), **criteria)
    assert ids["SHIELDED"] not in {r["child_id"] for r in results}
    council = search(login(Role.COUNCIL_TEAM), **criteria)
    assert council[0]["child_id"] == ids["SHIELDED"]  # the council team may find it


def test_a_shielded_child_is_found_by_visible_fields_and_shows_no_place(
    login: Login, ids: dict[str, str]
) -> None:
    results = search(login(), **person("SHIELDED", "given_name", "family_name",
                                       "date_of_birth"))
    assert results[0]["child_id"] == ids["SHIELDED"]
    assert set(results[0]) == {"child_id", "confidence", "confidence_band", "given_name",
                               "family_name", "date_of_birth", "sex"}


def test_a_shielded_child_view_shows_only_the_statutory_fields(
    login: Login, ids: dict[str, str]
) -> None:
    client = login()
    search(client, **person("SHIELDED", "given_name", "family_name", "date_of_birth"))
    response = client.get(f"/api/children/{ids['SHIELDED']}", headers=REASON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"child_id", "names", "gender", "date_of_birth", "shielded",
                         "request_contact", "fields_shown"}
    assert body["shielded"] is True
    assert "council team" in body["request_contact"]
    assert PEOPLE["SHIELDED"].postcode not in response.text
    assert PEOPLE["SHIELDED"].nhs not in response.text


# --- the view and anti-browsing -------------------------------------------------------------


def test_a_view_needs_a_recent_search_and_refuses_everything_else_alike(
    login: Login, ids: dict[str, str], clock: FakeClock, db: Engine
) -> None:
    client = login()
    target = ids["NICK"]
    unseen = client.get(f"/api/children/{target}", headers=REASON)
    assert unseen.status_code == 404
    unknown_id = "000000999990"  # well formed? then the same refusal as the real one
    refusals = [client.get(f"/api/children/{cid}", headers=REASON)
                for cid in (unknown_id, "12345", target[:-1] + "0", "x" * 40)]
    for refused in refusals:
        assert refused.status_code == unseen.status_code
        assert refused.json() == unseen.json()
        assert refused.headers["content-type"] == unseen.headers["content-type"]
    search(client, **person("NICK", "nhs_number"))
    shown = client.get(f"/api/children/{target}", headers=REASON)
    assert shown.status_code == 200
    body = shown.json()
    assert body["child_id"] == target
    assert body["names"]["given_name"] == "Alexander"
    assert body["whereabouts"]["address"]["postcode"] == "LS7 1AA"
    assert body["nhs_number"] == PEOPLE["NICK"].nhs
    assert body["carers"][0]["name"] == "Kate Brennan"
    assert "provenance" not in body
    # a day later the search no longer opens the record (sessions end sooner: ask the service;
    # a view commits its own entry, and the caller's transaction with it)
    with db.connect() as conn:
        later = view_service.view(
            conn, viewer=Viewer(ViewerRole.PRACTITIONER, frozenset(),
                                client.headers["X-Test-Actor"]),
            child_id=target, reason="again", ctx=AuditContext(None, None), now=clock() +
            timedelta(hours=25))
        assert later.child is None
        sooner = view_service.view(
            conn, viewer=Viewer(ViewerRole.PRACTITIONER, frozenset(),
                                client.headers["X-Test-Actor"]),
            child_id=target, reason="again", ctx=AuditContext(None, None), now=clock() +
            timedelta(hours=23))
        assert sooner.child is not None


def test_a_view_needs_a_stated_reason(login: Login, ids: dict[str, str]) -> None:
    client = login()
    search(client, **person("NICK", "nhs_number"))
    response = client.get(f"/api/children/{ids['NICK']}")
    assert response.status_code == 422
    assert response.json()["code"] == "reason_required"


def test_an_involvement_of_the_users_organisation_opens_the_record(
    login: Login, ids: dict[str, str]
) -> None:
    response = login(org=SCHOOL).get(f"/api/children/{ids['SENSITIVE']}", headers=REASON)
    assert response.status_code == 200
    services = {i["service_type"] for i in response.json()["involvements"]}
    assert services == {"education", "sexual_health"}  # CAMHS: no consent recorded


def test_sensitive_involvements_follow_consent_and_role(
    login: Login, ids: dict[str, str]
) -> None:
    def services(client: TestClient) -> set[str]:
        search(client, **person("SENSITIVE", "nhs_number"))
        response = client.get(f"/api/children/{ids['SENSITIVE']}", headers=REASON)
        assert response.status_code == 200
        return {i["service_type"] for i in response.json().get("involvements", [])}

    assert services(login()) == {"education", "sexual_health"}
    assert services(login(org="CAMHS1")) == {"education", "sexual_health", "camhs"}
    council = login(Role.COUNCIL_TEAM)
    assert services(council) == {"education", "sexual_health", "camhs"}
    body = council.get(f"/api/children/{ids['SENSITIVE']}", headers=REASON).json()
    assert body["provenance"]["name"]["source_code"] in {"NHS-PDS", "DFE-CENSUS"}


def test_a_merged_id_answers_with_the_survivor(
    login: Login, ids: dict[str, str], db: Engine
) -> None:
    with db.begin() as conn:
        keys = dict(conn.execute(select(child.c.child_id, child.c.id).where(
            child.c.child_id.in_([ids["SWAP"], ids["FORMER"]]))).all())
        survivor = history.merge(conn, keys[ids["SWAP"]], keys[ids["FORMER"]],
                                 actor="test", reason="test merge", force=True)
    absorbed = ids["FORMER"] if survivor.child_id == ids["SWAP"] else ids["SWAP"]
    client = login(Role.COUNCIL_TEAM)
    found = search(client, **person("SWAP", "nhs_number"))
    assert found[0]["child_id"] == survivor.child_id
    response = client.get(f"/api/children/{absorbed}", headers=REASON)
    assert response.status_code == 200
    assert response.json()["child_id"] == survivor.child_id
    assert response.json()["redirected_from"] == absorbed


def test_roles_without_the_permission_are_refused(login: Login, ids: dict[str, str]) -> None:
    for role in (Role.AUDITOR, Role.NATIONAL_ADMIN):
        client = login(role)
        assert client.post("/api/children/search",
                           json={"reason": "r", **person("NICK", "nhs_number")}
                           ).status_code == 403
        assert client.get(f"/api/children/{ids['NICK']}", headers=REASON).status_code == 403


# --- audit ----------------------------------------------------------------------------------


def test_who_looked_at_this_child_is_one_query(
    login: Login, ids: dict[str, str], db: Engine
) -> None:
    client = login()
    target = ids["TRANSLIT"]
    search(client, **person("TRANSLIT", "nhs_number"))
    assert client.get(f"/api/children/{target}",
                      headers={"X-Contactpoint-Reason": "home visit today"}).status_code == 200
    with db.connect() as conn:
        events = oversight.child_access(conn, target)
    kinds = [e.action for e in events[-2:]]
    assert kinds == [AuditAction.CHILD_SEARCH.value, AuditAction.CHILD_VIEW.value]
    searched, viewed = events[-2:]
    assert searched.reason == "school welfare"
    assert target in searched.details["results"]
    assert searched.details["criteria"] == {"nhs_number": PEOPLE["TRANSLIT"].nhs}
    assert viewed.reason == "home visit today"
    assert viewed.subject == f"child:{target}"
    assert "names" in viewed.details["fields"]
    assert searched.actor == viewed.actor


def test_a_search_and_view_journey_logs_no_personal_data(
    login: Login, ids: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from contactpoint.api.logs import JsonFormatter

    caplog.set_level(logging.DEBUG)
    client = login()
    canary = {"reason": "canary reason Jane Doe", **person("NICK", "given_name", "family_name",
                                                            "date_of_birth", "postcode")}
    assert client.post("/api/children/search", json=canary).status_code == 200
    assert client.get(f"/api/children/{ids['NICK']}",
                      headers={"X-Contactpoint-Reason": "canary view reason"}).status_code == 200
    assert client.post("/api/children/search", json={**canary, "reason": ""}).status_code == 422
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    formatter = JsonFormatter()
    text = "\n".join(formatter.format(r) for r in server)
    assert '"/api/children/{child_id}"' in text  # the route template, never the path
    for secret in ("Jane Doe", "canary view reason", "Alexander", "Brennan", "2014-02-03",
                   "LS7 1AA", ids["NICK"]):
        assert secret not in text, secret


def test_the_openapi_document_describes_the_reason_header_and_no_query_criteria(
    app: FastAPI,
) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        spec = client.get("/openapi.json").json()
    view = spec["paths"]["/api/children/{child_id}"]["get"]
    header = next(p for p in view["parameters"] if p["in"] == "header")
    assert header["name"] == "X-Contactpoint-Reason"
    assert "never logged" in header["description"]
    search_op = spec["paths"]["/api/children/search"]["post"]
    assert not [p for p in search_op.get("parameters", []) if p["in"] == "query"]
    assert "requestBody" in search_op


# --- one connection, one transaction per search ---------------------------------------------


def test_a_search_is_one_connection_and_its_audit_entry_is_committed(
    login: Login, app: FastAPI, db: Engine,
) -> None:
    """The sign-in check's transaction goes on into the search (one pool check-out per
    request), and the audit entry is committed with it: another connection sees it."""
    client = login()
    checkouts: list[object] = []
    listener = lambda *_: checkouts.append(object())  # noqa: E731
    event.listen(db, "checkout", listener)
    try:
        found = search(client, **person("NICK", "nhs_number"))
    finally:
        event.remove(db, "checkout", listener)
    assert len(checkouts) == 1
    with db.connect() as other:
        row = other.execute(
            select(audit_event.c.details).where(audit_event.c.action == AuditAction.CHILD_SEARCH)
            .order_by(audit_event.c.seq.desc()).limit(1)).one()
    assert json.loads(row.details)["results"] == [r["child_id"] for r in found]
    assert db.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_refused_search_gives_its_connection_back_and_records_no_search(
    login: Login, db: Engine,
) -> None:
    client = login(Role.AUDITOR)
    searches = select(func.count()).select_from(audit_event).where(
        audit_event.c.action == AuditAction.CHILD_SEARCH)
    with db.connect() as conn:
        before = conn.execute(searches).scalar_one()
    for _ in range(3):
        assert client.post("/api/children/search",
                           json={"reason": "r", **person("NICK", "nhs_number")}
                           ).status_code == 403
    assert db.pool.checkedout() == 0  # type: ignore[attr-defined]
    with db.connect() as conn:
        after = conn.execute(searches).scalar_one()
    assert after == before


def test_a_bad_body_is_refused_for_sign_in_and_permission_first(
    login: Login, app: FastAPI, clock: FakeClock,
) -> None:
    """The search's sign-in check runs in its endpoint's thread, after its body is read; a
    request refused on its body is still refused for its sign-in (401) or its permission (403)
    first, as on every other route (``security.CheckedFirstRoute``)."""
    bad = {"reason": "r", "date_of_birth": "not a date"}
    anonymous = TestClient(app, base_url="https://testserver")
    assert anonymous.post("/api/children/search", json=bad).status_code == 401
    assert login(Role.AUDITOR).post("/api/children/search", json=bad).status_code == 403
    client = login()
    assert client.post("/api/children/search", json=bad).status_code == 422
    clock.advance(hours=1)  # the session ran out while idle
    assert client.post("/api/children/search", json=bad).status_code == 401


def test_a_search_reads_its_session_and_user_in_one_statement(
    login: Login, db: Engine,
) -> None:
    client = login()
    statements: list[str] = []
    listener = lambda _c, _cur, sql, *_: statements.append(sql)  # noqa: E731
    event.listen(db, "before_cursor_execute", listener)
    try:
        search(client, **person("NICK", "nhs_number"))
    finally:
        event.remove(db, "before_cursor_execute", listener)
    sign_in = [s for s in statements if "user_session" in s or "app_user" in s]
    assert len(sign_in) == 1, sign_in
    assert "user_session" in sign_in[0]
    assert "app_user" in sign_in[0]


def test_a_failed_search_still_keeps_the_session_alive(
    login: Login, db: Engine, clock: FakeClock,
) -> None:
    """The session's idle timer, refreshed by the sign-in check, is committed even when the
    search it shares a transaction with is refused (no reason): the session lives on."""
    client = login()
    token = client.cookies.get(SESSION_COOKIE)
    assert token
    clock.advance(minutes=20)
    refused = client.post("/api/children/search", json=person("NICK", "nhs_number"))
    assert refused.status_code == 422
    with db.connect() as conn:
        seen = conn.execute(select(user_session.c.last_seen_at).where(
            user_session.c.id_hash == sessions.digest(token))).scalar_one()
    assert seen.replace(tzinfo=None) == clock().replace(tzinfo=None)
    clock.advance(minutes=20)  # 40 minutes after sign-in, 20 after the refused search
    assert search(client, **person("NICK", "nhs_number"))


def test_search_results_read_no_services_and_show_the_same_fields(
    db: Engine, ids: dict[str, str],
) -> None:
    """A search's results are loaded without carers and involvements (``services=False``):
    every field a result shows is the one the full record has."""
    with db.connect() as conn:
        rows = conn.execute(select(child.c.id, child.c.child_id, child.c.shielded)
                            .where(child.c.child_id.in_(sorted(set(ids.values()))))).all()
        wanted = {int(r.id): (str(r.child_id), bool(r.shielded)) for r in rows}
        full = child_records.load_many(conn, wanted)
        light = child_records.load_many(conn, wanted, services=False)
    assert full.keys() == light.keys()
    assert len(full) > 5
    assert any(f.record.involvements or f.record.carers for f in full.values())
    for key, survived in full.items():
        a, b = survived.record, light[key].record
        assert (b.child_id, b.names, b.date_of_birth, b.gender, b.whereabouts, b.nhs_number,
                b.upn, b.shielded) == (a.child_id, a.names, a.date_of_birth, a.gender,
                                       a.whereabouts, a.nhs_number, a.upn, a.shielded)
        assert (b.carers, b.involvements, b.education_setting, b.gp_practice) == ((), (), None,
                                                                                   None)
