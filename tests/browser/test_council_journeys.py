"""The council team's journeys in Debian's chromium, axe-core on every page: the work list and a
brokered-contact decision, shielding a child (with step-up), a review decision on the
side-by-side page, an unmerge from the child's history, children missing education with its
CSV, grants, investigations, and the auditor's investigations page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select, update

from contactpoint.access.permissions import Role
from contactpoint.access.tables import app_user, user_session
from contactpoint.access.testing import Account
from contactpoint.council import contact, investigations, shields
from council_data import linked_children, principal_of, review_pair

from .conftest import CHROMIUM, Server, sign_in

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian chromium is not installed (/usr/bin/chromium); .ci/run installs it with apt-get",
)

Check = Callable[[str], None]
NewAccount = Callable[..., Account]


def now() -> datetime:
    return datetime.now(UTC)


def team_of(new_account: NewAccount, la: str) -> tuple[Account, Account]:
    """A council team member and a practitioner of the same council area."""
    team = new_account(Role.COUNCIL_TEAM, la_code=la)
    return team, new_account(Role.PRACTITIONER, org=team.organisation)


def age_sessions(engine: Engine, account: Account, minutes: int = 10) -> None:
    """As if the account had given password and code ``minutes`` ago (step-up now due)."""
    with engine.begin() as conn:
        uid = conn.execute(select(app_user.c.id).where(
            app_user.c.username == account.username)).scalar_one()
        conn.execute(update(user_session).where(user_session.c.user_id == uid).values(
            authenticated_at=now() - timedelta(minutes=minutes)))


def step_up(page: Page, account: Account, check: Check) -> None:
    expect(page).to_have_title("Confirm it is you – Contactpoint – GOV.UK")
    check("council-step-up")
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_label("Security code").fill(
        pyotp.TOTP(account.totp_secret).at(time.time() + 30))  # the next step's code
    page.get_by_role("button", name="Continue").click()


def test_work_list_and_a_brokered_contact_decision(
    page: Page, server: Server, check: Check, new_account: NewAccount, tmp_path: Path
) -> None:
    team, worker = team_of(new_account, "931")
    [(_, cid)] = linked_children(server.engine, now(), tmp_path, "LA-CSC-931",
                                 [date(2015, 3, 3)])
    item, _, _ = review_pair(server.engine, now(), tmp_path, "931")
    with server.engine.begin() as conn:
        shields.set_shield(conn, cid, principal_of(conn, team.username), reason="refuge",
                           review_on=now().date() + timedelta(days=10), now=now())
        asked = contact.request_contact(conn, cid, principal_of(conn, worker.username),
                                        reason="school nurse follow-up",
                                        contact_details="Nurse Bell, 0113 496 0000", now=now())
    sign_in(page, server.url, team)
    page.get_by_role("link", name="Work list").first.click()
    expect(page).to_have_title("Work list – Contactpoint – GOV.UK")
    expect(page.get_by_role("link", name=f"Request {asked.id}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Item {item}")).to_be_visible()
    expect(page.locator("#shield-reviews + table")).to_contain_text("Due")
    check("council-worklist")
    page.get_by_role("link", name=f"Request {asked.id}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Contact request {asked.id}")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Nurse Bell, 0113 496 0000")
    check("council-contact-request")
    page.get_by_label("Decline").check()
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "A reason is required to decline")
    check("council-contact-error")
    page.get_by_label("Reason").fill("The family declines contact")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Request declined")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Declined")
    check("council-contact-decided")


def test_shield_a_child_with_step_up_then_remove_it(
    page: Page, server: Server, check: Check, new_account: NewAccount, tmp_path: Path
) -> None:
    team, _ = team_of(new_account, "932")
    [(_, cid)] = linked_children(server.engine, now(), tmp_path, "LA-CSC-932",
                                 [date(2016, 5, 5)])
    sign_in(page, server.url, team)
    page.goto(f"{server.url}/children/{cid}/shields")
    expect(page.locator("#shield-status")).to_have_text("This child's record is not shielded.")
    check("shield-history-none")
    age_sessions(server.engine, team)
    page.get_by_role("button", name="Shield this child").click()
    step_up(page, team, check)
    expect(page).to_have_url(f"{server.url}/children/{cid}/shield")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shield this child")
    check("shield-set")
    page.get_by_role("button", name="Shield the record").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter why the child's record must be shielded")
    expect(summary).to_contain_text("Enter the date to review the shield by")
    check("shield-set-errors")
    review_on = now().date() + timedelta(days=120)
    page.get_by_label("Why must the record be shielded?").fill("The family is in a refuge")
    page.locator("#review_on-day").fill(str(review_on.day))
    page.locator("#review_on-month").fill(str(review_on.month))
    page.locator("#review_on-year").fill(str(review_on.year))
    page.get_by_role("button", name="Shield the record").click()
    expect(page).to_have_url(f"{server.url}/children/{cid}/shields?done=shielded")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Shield set")
    expect(page.locator(".govuk-summary-list")).to_contain_text(review_on.strftime("%-d %B %Y"))
    check("shield-history")
    page.get_by_role("button", name="Remove the shield").click()
    page.get_by_label("Why can the shield be removed?").fill("The family has been rehoused")
    page.get_by_role("button", name="Remove the shield").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Shield removed")
    expect(page.locator("table")).to_contain_text("The family has been rehoused")
    check("shield-history-removed")


def test_a_review_decision_side_by_side_then_an_unmerge(
    page: Page, server: Server, check: Check, new_account: NewAccount, tmp_path: Path
) -> None:
    team, _ = team_of(new_account, "933")
    item, left, right = review_pair(server.engine, now(), tmp_path, "933")
    sign_in(page, server.url, team)
    page.get_by_role("link", name="Review possible matches").first.click()
    check("review-list")
    page.get_by_role("link", name=f"Item {item}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are these the same child?")
    expect(page.locator("#records")).to_contain_text("Amelia")
    expect(page.locator("#evidence")).to_contain_text("Starting point")
    check("review-item")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select whether these records are the same child")
    check("review-item-error")
    page.get_by_label("Same child").check()
    page.get_by_label("Reason (optional)").fill("Same girl: the surname was mistyped")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Item {item} decided: the same child")
    check("review-decided")

    page.goto(f"{server.url}/children/{right}/links")  # the absorbed id leads to the survivor
    expect(page.locator(".govuk-caption-l")).to_contain_text(f"Child {left}")
    expect(page.locator("#events + table")).to_contain_text("Merge: 1 record from")
    check("child-links")
    age_sessions(server.engine, team)
    page.get_by_role("button", name="Unmerge records").click()
    step_up(page, team, check)
    expect(page.get_by_role("heading", level=1)).to_have_text("Unmerge records")
    page.get_by_role("button", name="Unmerge records").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select the records to move out of this child")
    check("child-unmerge-errors")
    page.locator("input[name=records]").nth(1).check()
    page.get_by_label("Why are they another child?").fill("Twins after all")
    page.get_by_role("button", name="Unmerge records").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Records moved to child")
    expect(page.locator("#events + table")).to_contain_text("Unmerge: 1 record from")
    check("child-links-unmerged")


def test_children_missing_education_and_the_csv(
    page: Page, server: Server, check: Check, new_account: NewAccount, tmp_path: Path
) -> None:
    team, _ = team_of(new_account, "934")
    today = now().date()
    [(_, missing), (_, young)] = linked_children(
        server.engine, now(), tmp_path, "LA-CSC-934",
        [date(today.year - 9, today.month, 1), date(today.year - 3, today.month, 1)])
    sign_in(page, server.url, team)
    page.get_by_role("link", name="Children missing education").first.click()
    table = page.locator("#cme")
    expect(table).to_contain_text(missing)
    expect(table).to_contain_text("No education setting recorded")
    expect(table).not_to_contain_text(young)
    check("council-cme")
    href = page.locator("#cme-csv").get_attribute("href")
    assert href is not None
    exported = page.request.get(f"{server.url}{href}")  # the browser's session
    assert exported.status == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert missing in exported.text()
    page.get_by_label("Days since the last setting ended").fill("many")
    page.get_by_role("button", name="Update list").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter a whole number of days from 0 to 365")
    check("council-cme-error")


def test_grants_investigations_and_the_auditors_page(
    page: Page, server: Server, check: Check, new_account: NewAccount, tmp_path: Path
) -> None:
    team, officer = team_of(new_account, "935")
    [(key, cid)] = linked_children(server.engine, now(), tmp_path, "LA-CSC-935",
                                   [date(2013, 8, 8)])
    sign_in(page, server.url, team)
    page.goto(f"{server.url}/council/grants")
    check("council-grants-none")
    page.get_by_role("button", name="Grant a permission").click()
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Why do they need it?").fill("Police child abuse investigation team")
    page.get_by_role("button", name="Grant permission").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Permission granted")
    expect(page.locator("#grants")).to_contain_text(officer.username)
    check("council-grants")
    page.get_by_role("button", name=f"Revoke the permission of {officer.username}").click()
    expect(page.locator("#grants")).to_contain_text("Revoked")

    with server.engine.begin() as conn:
        from links import child_of

        ck = child_of(conn, key)
        assert ck is not None
        opened = investigations.open_investigation(
            conn, ck, principal_of(conn, officer.username), "Urgent safeguarding", now=now())
    page.get_by_role("link", name="Work list").first.click()
    page.get_by_role("link", name=f"Investigation {opened.id}").click()  # open: on the list
    check("council-investigation")
    page.get_by_role("link", name="Back to investigations").click()
    expect(page.locator("#investigations")).to_contain_text(officer.username)
    check("council-investigations")
    page.get_by_role("link", name=f"Investigation {opened.id}").click()
    page.get_by_label("Disciplinary: the override was misuse").check()
    page.get_by_label("Reason").fill("No safeguarding reason found")
    page.get_by_role("button", name="Record outcome").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Outcome recorded")
    check("council-investigation-closed")

    page.context.clear_cookies()
    auditor = new_account(Role.AUDITOR)
    sign_in(page, server.url, auditor)
    page.get_by_role("link", name="Investigations").first.click()
    expect(page).to_have_url(f"{server.url}/audit/investigations")
    row = page.locator("#investigations tr", has_text=cid)
    expect(row).to_contain_text("Disciplinary")
    expect(row).to_contain_text(officer.username)
    check("audit-investigations")
    assert re.search(r"Investigations", page.locator(".govuk-service-navigation").inner_text())


def test_the_national_report_of_children_with_no_council(
    page: Page, server: Server, check: Check, new_account: NewAccount,
) -> None:
    admin = new_account(Role.NATIONAL_ADMIN)
    sign_in(page, server.url, admin)
    page.get_by_role("link", name="Children with no council").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Children with no responsible council")
    expect(page.locator("#unallocated-summary")).to_contain_text("Children with no council")
    check("national-unallocated")
