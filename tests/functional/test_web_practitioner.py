"""The practitioner's pages without a browser: find a child, open the record (the reason carried
from the search), my involvement, a shielded child and brokered contact; errors and refusals.

The same services as the JSON API: the tests read the audit trail the pages' actions leave.
The browser journeys (chromium, axe) are in tests/browser/test_practitioner.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, update

from contactpoint.access.permissions import GrantablePermission, Role
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.api.logs import JsonFormatter
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.children.view import REFUSAL
from contactpoint.council.tables import investigation, user_grant
from contactpoint.db.tables import child
from search_population import PEOPLE, load
from web_session import sign_in, token

PRACTITIONER_MODULES = {f"contactpoint.web.{name}" for name in
                        ("search", "record", "involvements", "contact", "override")}
REASON = "Referral 4471 from the school nurse"
RESULT_LINK = re.compile(r'href="/children/(\d{12})\?ref=(\d+)"')


@pytest.fixture(scope="module")
def ids(db: Engine) -> dict[str, str]:
    with db.begin() as conn:
        found = load(conn)
        conn.execute(update(child).where(child.c.child_id == found["SHIELDED"])
                     .values(owning_la="LA1"))
        return found


Login = Callable[..., tuple[TestClient, Account]]


@pytest.fixture
def login(app: FastAPI, db: Engine, clock: FakeClock, ids: dict[str, str]) -> Login:
    def make(role: Role = Role.PRACTITIONER) -> tuple[TestClient, Account]:
        with db.begin() as conn:
            service = make_service(conn, clock)
            account = make_user(service, make_org(service, la_code="LA1"), role)
        return sign_in(app, account, clock), account

    return make


def by_name(key: str) -> dict[str, str]:
    p = PEOPLE[key]
    return {"given_name": p.given, "family_name": p.family, "date_of_birth-day": str(p.dob.day),
            "date_of_birth-month": str(p.dob.month), "date_of_birth-year": str(p.dob.year)}


def search(client: TestClient, **fields: str) -> Any:
    page = client.get("/search")
    assert page.status_code == 200
    return client.post("/search", data={"csrf_token": token(page.text), **fields})


def last(db: Engine, action: AuditAction) -> trail.AuditEntry:
    with db.connect() as conn:
        found = [e for e in trail.recent(conn, last=30) if e.action == action.value]
    assert found, action
    return found[-1]


def open_from_search(client: TestClient, key: str, ids: dict[str, str]) -> tuple[Any, str]:
    found = search(client, reason=REASON, **by_name(key))
    assert found.status_code == 200, found.text
    links = dict(RESULT_LINK.findall(found.text))
    assert ids[key] in links
    href = f"/children/{ids[key]}?ref={links[ids[key]]}"
    return client.get(href), href


def test_the_start_page_and_navigation_offer_the_practitioner_tasks(login: Login) -> None:
    client, _ = login()
    start = client.get("/")
    assert 'href="/search"' in start.text
    assert 'href="/contact-requests"' in start.text
    assert "Your contact requests" in start.text


def test_a_reason_and_enough_criteria_are_required(login: Login) -> None:
    client, _ = login()
    page = client.get("/search")
    assert "<title>Find a child – Contactpoint – GOV.UK</title>" in page.text
    both = search(client, given_name="Alexander", family_name="Brennan")
    assert both.status_code == 422
    assert "<title>Error: Find a child – Contactpoint – GOV.UK</title>" in both.text
    summary = both.text[both.text.index("govuk-error-summary"):]
    assert 'href="#reason"' in summary
    assert "Enter why you are searching" in summary
    assert "These details could find many children" in summary
    # the summary names the accepted combinations (domain.search.ACCEPTED, in words)
    for words in ("NHS number alone", "given name, family name and date of birth",
                  "family name, date of birth and postcode (or its first half, like LS6)",
                  "an age range of at most 5 years"):
        assert words in summary.split("</div>")[0] + summary, words
    assert 'value="Alexander"' in both.text  # what was typed stays
    bad_date = search(client, reason=REASON, given_name="A", family_name="B",
                      **{"date_of_birth-day": "31", "date_of_birth-month": "2",
                         "date_of_birth-year": "2014"})
    assert bad_date.status_code == 422
    assert "Date of birth must be a real date" in bad_date.text
    bad_nhs = search(client, reason=REASON, nhs_number="1234567890")
    assert bad_nhs.status_code == 422
    assert "Enter a real NHS number" in bad_nhs.text
    half_range = search(client, reason=REASON, given_name="Alexander", family_name="Brennan",
                        postcode="LS7", **{"born_from-day": "1", "born_from-month": "1",
                                           "born_from-year": "2013"})
    assert half_range.status_code == 422
    assert "Enter both dates of the age range" in half_range.text


def test_search_results_link_to_the_record_with_the_reason_carried(
    login: Login, db: Engine, ids: dict[str, str]
) -> None:
    client, account = login()
    found = search(client, reason=REASON, **by_name("NICK"))
    assert found.status_code == 200
    assert "Alexander Brennan" in found.text
    assert "3 February 2014" in found.text
    assert re.search(r"(Very likely|Likely|Possible|Unlikely) \(\d\.\d\d\)", found.text)
    entry = last(db, AuditAction.CHILD_SEARCH)
    assert entry.reason == REASON
    assert entry.actor == f"user:{account.username}"
    links = dict(RESULT_LINK.findall(found.text))
    assert links[ids["NICK"]] == str(entry.seq)  # the reference is the audited search
    assert REASON not in "".join(links)  # the reason is never in an address
    record = client.get(f"/children/{ids['NICK']}?ref={entry.seq}")
    assert record.status_code == 200
    assert "<title>Alexander Brennan – Contactpoint – GOV.UK</title>" in record.text
    assert PEOPLE["NICK"].nhs in record.text
    assert "4 Kirk Road" in record.text
    assert "Who else is working with this child" in record.text
    view = last(db, AuditAction.CHILD_VIEW)
    assert view.reason == REASON
    assert view.details["outcome"] == "shown"
    assert view.subject == f"child:{ids['NICK']}"


def test_without_a_usable_reference_the_record_asks_why(
    login: Login, db: Engine, ids: dict[str, str]
) -> None:
    client, _ = login()
    other, _ = login()
    found = search(other, reason=REASON, **by_name("NICK"))
    theirs = dict(RESULT_LINK.findall(found.text))[ids["NICK"]]
    for address in (f"/children/{ids['NICK']}", f"/children/{ids['NICK']}?ref={theirs}"):
        asked = client.get(address)
        assert asked.status_code == 200
        assert "Why are you opening this record?" in asked.text
        assert PEOPLE["NICK"].nhs not in asked.text
    empty = client.post(f"/children/{ids['NICK']}", data={"csrf_token": token(asked.text)})
    assert empty.status_code == 422
    assert "Enter why you are opening this record" in empty.text
    # a reason, but no search of this user found the child: the one refusal
    refused = client.post(f"/children/{ids['NICK']}",
                          data={"csrf_token": token(asked.text), "reason": "curious"})
    assert refused.status_code == 404
    assert REFUSAL[1:] in refused.text  # capitalised on the page
    assert last(db, AuditAction.CHILD_VIEW).details["outcome"] == "refused"
    search(client, reason=REASON, **by_name("NICK"))
    shown = client.post(f"/children/{ids['NICK']}",
                        data={"csrf_token": token(asked.text), "reason": "a second reason"})
    assert shown.status_code == 200
    assert PEOPLE["NICK"].nhs in shown.text
    assert last(db, AuditAction.CHILD_VIEW).reason == "a second reason"


def test_add_change_and_end_my_involvement(
    login: Login, db: Engine, ids: dict[str, str]
) -> None:
    client, _ = login()
    record, _ = open_from_search(client, "TRANSLIT", ids)
    add = re.search(r'href="(/children/\d+/involvements/new\?ref=(\d+))"', record.text)
    assert add, "the record offers to add my involvement"
    form = client.get(add.group(1))
    assert form.status_code == 200
    assert "<title>Add your involvement – Contactpoint – GOV.UK</title>" in form.text
    csrf = token(form.text)
    target = f"/children/{ids['TRANSLIT']}/involvements"
    missing = client.post(target, data={"csrf_token": csrf, "ref": add.group(2),
                                        "practitioner_name": "Pat Jones"})
    assert missing.status_code == 422
    assert "Select the service you work for" in missing.text
    assert "Select whether you are the lead professional" in missing.text
    sensitive = client.post(target, data={
        "csrf_token": csrf, "ref": add.group(2), "service_type": "camhs",
        "practitioner_name": "Pat Jones", "lead_professional": "no"})
    assert sensitive.status_code == 422
    assert "only with the young person&#39;s consent" in sensitive.text
    bad_email = client.post(target, data={
        "csrf_token": csrf, "ref": add.group(2), "service_type": "school_nurse",
        "practitioner_name": "Pat Jones", "lead_professional": "yes",
        "practitioner_email": "not an email"})
    assert bad_email.status_code == 422
    assert "Enter an email address in the correct format" in bad_email.text
    done = client.post(target, data={
        "csrf_token": csrf, "ref": add.group(2), "service_type": "school_nurse",
        "practitioner_name": "Pat Jones", "practitioner_phone": "0113 496 0000",
        "practitioner_email": "pat.jones@example.org", "assessment_status": "in_progress",
        "lead_professional": "yes"})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/children/{ids['TRANSLIT']}?ref={add.group(2)}&done=added"
    entry = last(db, AuditAction.INVOLVEMENT_RECORD)
    assert entry.details["lead_professional"] is True
    back = client.get(done.headers["location"])
    assert "Your involvement is recorded" in back.text
    assert "pat.jones@example.org" in back.text
    assert "School nurse" in back.text
    assert "In progress" in back.text
    change = re.search(r'href="(/children/\d+/involvements/(\d+)\?ref=(\d+))"', back.text)
    assert change
    page = client.get(change.group(1))
    assert 'value="Pat Jones"' in page.text
    changed = client.post(f"{target}/{change.group(2)}", data={
        "csrf_token": token(page.text), "ref": change.group(3), "service_type": "school_nurse",
        "practitioner_name": "Pat Jones-Smith", "lead_professional": "no",
        "assessment_status": "completed"})
    assert changed.status_code == 303
    assert changed.headers["location"].endswith("&done=changed")
    assert last(db, AuditAction.INVOLVEMENT_UPDATE).details["fields"] == [
        "assessment_status", "lead_professional", "practitioner_email", "practitioner_name",
        "practitioner_phone"]
    cease_page = client.get(f"{target}/{change.group(2)}/cease?ref={change.group(3)}")
    assert cease_page.status_code == 200
    future = client.post(f"{target}/{change.group(2)}/cease", data={
        "csrf_token": token(cease_page.text), "ref": change.group(3), "end-day": "1",
        "end-month": "1", "end-year": "2099"})
    assert future.status_code == 422
    assert "The end date must be today or earlier" in future.text
    ended = client.post(f"{target}/{change.group(2)}/cease", data={
        "csrf_token": token(cease_page.text), "ref": change.group(3)})
    assert ended.status_code == 303
    assert last(db, AuditAction.INVOLVEMENT_CEASE).details["involvement"] == int(change.group(2))
    after = client.get(ended.headers["location"])
    assert "Your involvement is marked as ended" in after.text
    assert "Pat Jones-Smith" not in after.text


def test_another_organisation_cannot_touch_my_involvement(
    login: Login, ids: dict[str, str]
) -> None:
    client, _ = login()
    record, _ = open_from_search(client, "FORMER", ids)
    add = re.search(r'href="(/children/\d+/involvements/new\?ref=(\d+))"', record.text)
    assert add
    form = client.get(add.group(1))
    made = client.post(f"/children/{ids['FORMER']}/involvements", data={
        "csrf_token": token(form.text), "service_type": "social_care",
        "practitioner_name": "Sam Lee", "lead_professional": "no"})
    assert made.status_code == 303
    assert made.headers["location"] == f"/children/{ids['FORMER']}"  # no ref: asks why
    inv = re.search(r'/involvements/(\d+)\?', client.post(
        f"/children/{ids['FORMER']}", data={"csrf_token": token(form.text), "reason": "again"}
    ).text)
    assert inv
    stranger, _ = login()
    page = stranger.get(f"/children/{ids['FORMER']}/involvements/{inv.group(1)}")
    assert page.status_code == 404
    no_token = client.post(f"/children/{ids['FORMER']}/involvements/{inv.group(1)}/cease")
    assert no_token.status_code == 403


def test_a_shielded_child_shows_the_restricted_page_and_contact_can_be_requested(
    login: Login, db: Engine, ids: dict[str, str]
) -> None:
    client, account = login()
    record, _ = open_from_search(client, "SHIELDED", ids)
    assert record.status_code == 200
    text = record.text
    assert "This child&#39;s details are shielded" in text
    assert "Shauna Hidden" in text
    for hidden in (PEOPLE["SHIELDED"].nhs, PEOPLE["SHIELDED"].postcode, "1 Quiet Close",
                   PEOPLE["SHIELDED"].upn):
        assert hidden not in text
    assert "Override the shield" not in text
    ask = re.search(r'href="(/children/\d+/contact-request\?ref=\d+)"', text)
    assert ask
    form = client.get(ask.group(1))
    assert form.status_code == 200
    assert "Ask to be put in touch" in form.text
    target = f"/children/{ids['SHIELDED']}/contact-request"
    empty = client.post(target, data={"csrf_token": token(form.text), "contact_details": ""})
    assert empty.status_code == 422
    assert "Enter why you need to be put in touch" in empty.text
    assert "Enter how the council and the family can reach you" in empty.text
    sent = client.post(target, data={"csrf_token": token(form.text),
                                     "reason": "Her school has a safeguarding concern",
                                     "contact_details": "Pat Jones, 0113 496 0000"})
    assert sent.status_code == 303
    assert sent.headers["location"] == "/contact-requests?sent=true"
    entry = last(db, AuditAction.CONTACT_REQUEST)
    assert entry.subject == f"child:{ids['SHIELDED']}"
    assert entry.actor == f"user:{account.username}"
    mine = client.get(sent.headers["location"])
    assert "Request sent" in mine.text
    assert ids["SHIELDED"] in mine.text
    assert "Waiting for the council" in mine.text
    assert "safeguarding concern" not in mine.text  # the status only, as the API shows
    # not shielded: the one refusal, saying nothing
    other = client.post(f"/children/{ids['NICK']}/contact-request",
                        data={"csrf_token": token(form.text), "reason": "r",
                              "contact_details": "c"})
    assert other.status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.NATIONAL_ADMIN])
def test_roles_without_the_permissions_reach_no_practitioner_page(
    login: Login, app: FastAPI, ids: dict[str, str], role: Role
) -> None:
    client, _ = login(role)
    csrf = token(client.get("/").text)
    routes = [c.route for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)]
    pages = [(method, route.path) for route in routes
             if route.endpoint.__module__ in PRACTITIONER_MODULES
             for method in sorted(route.methods or ()) if method != "HEAD"]
    assert len(pages) >= 12
    for method, path in pages:
        concrete = path.replace("{child_id}", ids["NICK"]).replace("{involvement_id}", "1")
        answer = client.request(method, concrete, data={"csrf_token": csrf})
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), (method, path)


def test_a_council_team_sees_where_each_field_came_from(
    login: Login, ids: dict[str, str]
) -> None:
    client, _ = login(Role.COUNCIL_TEAM)
    record, _ = open_from_search(client, "SENSITIVE", ids)
    assert record.status_code == 200
    assert "app-provenance" in record.text
    assert "From NHS-PDS (record NSENSITIVE" in record.text
    # the policy shows a council team the sensitive involvement without consent too
    assert "Dr Camhs" in record.text
    practitioner, _ = login()
    seen, _ = open_from_search(practitioner, "SENSITIVE", ids)
    assert "app-provenance" not in seen.text
    assert "Dr Camhs" not in seen.text  # no consent recorded: not for other practitioners
    assert "Park School" in seen.text


def test_the_practitioner_pages_log_no_personal_data(
    login: Login, ids: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = login()
    caplog.set_level(logging.DEBUG)
    canary_reason = "Canary reason Zanzibar 5521"
    open_from_search(client, "SHIELDED", ids)
    found = search(client, reason=canary_reason, **by_name("NICK"))
    assert found.status_code == 200
    form = client.get(f"/children/{ids['SHIELDED']}/contact-request")
    client.post(f"/children/{ids['SHIELDED']}/contact-request",
                data={"csrf_token": token(form.text), "reason": canary_reason,
                      "contact_details": "Canary Contact 0113 496 0999"})
    client.get("/contact-requests")
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in server]
    text = "\n".join(lines) + "\n".join(r.getMessage() for r in server)
    assert '"event":"request"' in text
    for secret in (canary_reason, REASON, "Canary Contact", "Shauna", "Hidden", "Alexander",
                   "Brennan", "2014-02-03", PEOPLE["NICK"].nhs, PEOPLE["NICK"].postcode):
        assert secret not in text, secret


def grant_override(db: Engine, clock: FakeClock, account: Account) -> None:
    """As the council team's grant would (council.grants.grant, tested with the API)."""
    with db.begin() as conn:
        user = make_service(conn, clock).user(account.username)
        conn.execute(insert(user_grant).values(
            user_id=user.id, permission=GrantablePermission.RECORD_SHIELD_OVERRIDE.value,
            reason="child protection investigator", granted_by="user:team",
            granted_at=clock()))


def investigations(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(investigation)).scalar_one())


def test_the_override_with_a_grant_step_up_and_a_reason_shows_the_record_once(
    login: Login, db: Engine, clock: FakeClock, ids: dict[str, str]
) -> None:
    client, account = login()
    record, _ = open_from_search(client, "SHIELDED", ids)
    target = f"/children/{ids['SHIELDED']}/override"
    assert "Override the shield" not in record.text  # no grant: no link
    assert client.get(target).status_code == 403
    grant_override(db, clock, account)
    record, address = open_from_search(client, "SHIELDED", ids)
    link = re.search(r'href="(/children/\d+/override\?ref=\d+)"', record.text)
    assert link, "the restricted page offers the override to a holder of the grant"
    form = client.get(link.group(1))
    assert form.status_code == 200
    assert "opens an investigation by the child&#39;s council" in form.text
    empty = client.post(target, data={"csrf_token": token(form.text)})
    assert empty.status_code == 422
    assert "Enter why you need to override the shield" in empty.text
    before = investigations(db)
    shown = client.post(target, data={"csrf_token": token(form.text),
                                      "reason": "Section 47 enquiry 2026/118"})
    assert shown.status_code == 200, shown.text
    assert PEOPLE["SHIELDED"].nhs in shown.text
    assert "1 Quiet Close" in shown.text
    assert "You overrode this child" in shown.text
    assert investigations(db) == before + 1
    entry = last(db, AuditAction.SHIELD_OVERRIDE)
    assert entry.reason == "Section 47 enquiry 2026/118"
    assert entry.actor == f"user:{account.username}"
    again = client.get(address)  # nothing remembered: shielded again
    assert PEOPLE["SHIELDED"].nhs not in again.text
    assert "To keep this child safe" in again.text
    # not shielded: no override is needed (the service's 409)
    open_from_search(client, "NICK", ids)
    needless = client.post(f"/children/{ids['NICK']}/override",
                           data={"csrf_token": token(form.text), "reason": "r"})
    assert needless.status_code == 409
    # a stale sign-in must step up first, and comes back to the override form
    clock.advance(minutes=6)
    stale = client.get(link.group(1))
    assert stale.status_code == 303
    assert stale.headers["location"] == f"/reauth?next={target}"
    posted = client.post(target, data={"csrf_token": token(form.text), "reason": "x"})
    assert posted.headers["location"] == f"/reauth?next={target}"
    assert investigations(db) == before + 1


def test_a_council_team_reaches_its_pages_about_the_child_from_the_record(
    login: Login, ids: dict[str, str]
) -> None:
    team, _ = login(Role.COUNCIL_TEAM)
    record, _ = open_from_search(team, "SHIELDED", ids)
    assert f'href="/children/{ids["SHIELDED"]}/shields"' in record.text
    assert f'href="/children/{ids["SHIELDED"]}/links"' in record.text
    assert "To keep this child safe" not in record.text  # the council team sees it all
    assert PEOPLE["SHIELDED"].nhs in record.text
    assert re.search(r'govuk-tag--red">\s*Shielded\s*</strong>', record.text)
    practitioner, _ = login()
    seen, _ = open_from_search(practitioner, "SHIELDED", ids)
    assert "/shields" not in seen.text
    assert "/links" not in seen.text
