"""The practitioner's journeys in Debian's chromium, axe-core on every page: find a child with a
reason (error summary first), open the record from the results by keyboard, add my
involvement; a shielded child's restricted page and a contact request; the shield override,
with its step-up."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, insert, select, update

from contactpoint.access.permissions import GrantablePermission, Role
from contactpoint.access.tables import app_user, user_session
from contactpoint.access.testing import Account
from contactpoint.council.tables import user_grant
from contactpoint.db.tables import child
from search_population import PEOPLE, load

from .conftest import CHROMIUM, Server, sign_in

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian chromium is not installed (/usr/bin/chromium); .ci/run installs it with apt-get",
)

Check = Callable[[str], None]
NewAccount = Callable[..., Account]


@pytest.fixture(scope="session")
def children(browser_db: tuple[str, Engine]) -> dict[str, str]:
    """The search tests' small linked population, in the browser tests' database."""
    _, engine = browser_db
    with engine.begin() as conn:
        ids = load(conn)
        conn.execute(update(child).where(child.c.child_id == ids["SHIELDED"])
                     .values(owning_la="LA1"))
    return ids


def _find(page: Page, key: str, reason: str = "Referral 4471 from the school nurse") -> None:
    person = PEOPLE[key]
    page.get_by_label("Why are you searching?").fill(reason)
    page.get_by_label("Given name").fill(person.given)
    page.get_by_label("Family name").fill(person.family)
    page.locator("#date_of_birth-day").fill(str(person.dob.day))
    page.locator("#date_of_birth-month").fill(str(person.dob.month))
    page.locator("#date_of_birth-year").fill(str(person.dob.year))
    page.get_by_role("button", name="Search").click()


def _tab_to_link(page: Page, href_part: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement && document.activeElement.href || ''")
        if href_part in href:
            return
    raise AssertionError(f"Tab never reached a link to {href_part}")


def test_find_a_child_open_the_record_and_add_my_involvement(
    page: Page, server: Server, check: Check, new_account: NewAccount,
    children: dict[str, str],
) -> None:
    account = new_account(Role.PRACTITIONER)
    sign_in(page, server.url, account)
    page.get_by_role("link", name="Find a child").first.click()
    expect(page).to_have_url(f"{server.url}/search")
    check("practitioner-search")
    page.get_by_label("Given name").fill("Alexander")
    page.get_by_label("Family name").fill("Brennan")
    page.get_by_role("button", name="Search").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter why you are searching")
    expect(summary).to_contain_text("given name, family name and date of birth")
    expect(page).to_have_title("Error: Find a child – Contactpoint – GOV.UK")
    check("practitioner-search-errors")
    _find(page, "NICK")
    results = page.locator("table")
    expect(results).to_contain_text("Alexander Brennan")
    expect(results).to_contain_text("3 February 2014")
    expect(results.locator("tbody tr").first).to_contain_text(
        re.compile(r"(Very likely|Likely|Possible|Unlikely) \([01]\.\d\d\)"))
    check("practitioner-results")
    # the keyboard reaches the result and opens it
    _tab_to_link(page, f"/children/{children['NICK']}?ref=")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alexander Brennan")
    expect(page.locator("#child-details")).to_contain_text(PEOPLE["NICK"].nhs)
    expect(page.get_by_role("heading", name="Who else is working with this child")).to_be_visible()
    check("child-record")
    page.get_by_role("button", name="Add your involvement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add your involvement")
    page.get_by_role("button", name="Add your involvement").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the service you work for")
    check("involvement-errors")
    page.get_by_label("School nurse").check()
    page.get_by_label("Practitioner's name").fill("Pat Jones")
    page.get_by_label("Phone number (optional)").fill("0113 496 0000")
    page.get_by_label("Email address (optional)").fill("pat.jones@example.org")
    page.locator("#lead_professional").check()
    page.get_by_role("button", name="Add your involvement").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Your involvement is recorded")
    expect(page.locator("#involvements")).to_contain_text("pat.jones@example.org")
    expect(page.locator("#own-involvements")).to_contain_text("Pat Jones")
    check("child-record-involvement-added")


def test_a_shielded_child_and_a_request_for_contact(
    page: Page, server: Server, check: Check, new_account: NewAccount,
    children: dict[str, str],
) -> None:
    account = new_account(Role.PRACTITIONER)
    sign_in(page, server.url, account)
    page.goto(f"{server.url}/search")
    _find(page, "SHIELDED", reason="Her school has a safeguarding concern")
    page.get_by_role("link", name="Shauna Hidden").click()
    expect(page.locator(".govuk-warning-text")).to_contain_text("To keep this child safe")
    expect(page.locator("h1 .govuk-tag")).to_have_text("Shielded")
    expect(page.locator("#child-details")).not_to_contain_text(PEOPLE["SHIELDED"].nhs)
    expect(page.get_by_role("link", name="Override the shield")).to_have_count(0)
    check("child-shielded")
    _tab_to_link(page, f"/children/{children['SHIELDED']}/contact-request?ref=")  # keyboard
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask to be put in touch")
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter why you need to be put in touch")
    check("contact-request-errors")
    page.get_by_label("Why do you need to be put in touch?").fill(
        "Her school has a safeguarding concern")
    page.get_by_label("How can they reach you?").fill("Pat Jones, 0113 496 0000")
    page.get_by_role("button", name="Send the request").click()
    expect(page).to_have_url(f"{server.url}/contact-requests?sent=true")
    expect(page.locator("#contact-requests")).to_contain_text(children["SHIELDED"])
    expect(page.locator("#contact-requests")).to_contain_text("Waiting for the council")
    check("contact-requests")


def test_a_holder_of_the_grant_overrides_the_shield(
    page: Page, server: Server, check: Check, new_account: NewAccount,
    children: dict[str, str], browser_db: tuple[str, Engine],
) -> None:
    account = new_account(Role.PRACTITIONER)
    _, engine = browser_db
    with engine.begin() as conn:  # as the council team's grant would (tested with the API)
        user_id = conn.execute(select(app_user.c.id).where(
            app_user.c.username == account.username)).scalar_one()
        conn.execute(insert(user_grant).values(
            user_id=user_id, permission=GrantablePermission.RECORD_SHIELD_OVERRIDE.value,
            reason="child protection investigator", granted_by="user:team",
            granted_at=datetime.now(UTC)))
    sign_in(page, server.url, account)
    page.goto(f"{server.url}/search")
    _find(page, "SHIELDED", reason="Section 47 enquiry 2026/118")
    page.get_by_role("link", name="Shauna Hidden").click()
    with engine.begin() as conn:  # the sign-in was long enough ago that the policy asks again
        conn.execute(update(user_session).where(user_session.c.user_id == user_id).values(
            authenticated_at=datetime.now(UTC) - timedelta(hours=1)))
    page.get_by_role("link", name="Override the shield").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    check("override-step-up")
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_label("Security code").fill(
        pyotp.TOTP(account.totp_secret).at(time.time() + 30))  # the next step's code
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/children/{children['SHIELDED']}/override"))
    expect(page.locator(".govuk-warning-text")).to_contain_text("opens an investigation")
    page.get_by_role("button", name="Override the shield and show the record").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter why you need to override the shield")
    check("override-errors")
    page.get_by_label("Why do you need to override the shield?").fill(
        "Section 47 enquiry 2026/118")
    page.get_by_role("button", name="Override the shield and show the record").click()
    expect(page.locator("#override-banner")).to_contain_text("You overrode this child's shield")
    expect(page.locator("#child-details")).to_contain_text(PEOPLE["SHIELDED"].nhs)
    check("child-override")
