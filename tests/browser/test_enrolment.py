"""A council team adds a user in the browser; that user's first sign-in replaces both factors
(review finding 5) on /login/enrol, then lands signed in. axe-core on every page."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from contactpoint.access.permissions import Role
from contactpoint.access.testing import unique

from .conftest import CHROMIUM, Server, sign_in
from .test_journeys import Check, NewAccount

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian chromium is not installed (/usr/bin/chromium); .ci/run installs it with apt-get",
)

HANDED_OVER = "the pass phrase we agreed 6613"
OWN = "a pass phrase only I know 4470"


def _fill_date(page: Page, name: str, day: date) -> None:
    page.locator(f"#{name}-day").fill(str(day.day))
    page.locator(f"#{name}-month").fill(str(day.month))
    page.locator(f"#{name}-year").fill(str(day.year))


def test_a_user_added_in_the_browser_enrols_at_first_sign_in(
    page: Page, browser: Browser, server: Server, check: Check, new_account: NewAccount
) -> None:
    council = new_account(Role.COUNCIL_TEAM, la_code="LA8")
    username = unique("enrolling").replace("-", ".")[:40]
    context = browser.new_context(viewport={"width": 1000, "height": 800}, bypass_csp=True)
    context.set_default_timeout(10_000)
    try:  # the council team, in its own browser, adds the user
        admin = context.new_page()
        sign_in(admin, server.url, council)
        admin.goto(f"{server.url}/users/new")
        admin.get_by_label("Username").fill(username)
        admin.get_by_label("Password", exact=True).fill(HANDED_OVER)
        admin.get_by_label("Organisation").select_option(council.organisation)
        admin.get_by_label("Practitioner").check()
        today = date.today()
        _fill_date(admin, "vetted_on", today - timedelta(days=9))
        _fill_date(admin, "trained_on", today - timedelta(days=8))
        _fill_date(admin, "agreement_signed_on", today - timedelta(days=7))
        admin.get_by_role("button", name="Add user").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(username)
        expect(admin.locator("svg.segno")).to_be_visible()  # the key to hand over, once
        handed_secret = admin.locator("#handover-secret").inner_text().replace(" ", "")
    finally:
        context.close()

    # The new user, in their own browser, with the password and key they were given; the
    # code page does not show the key (whoever knows only the password never sees it).
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(HANDED_OVER)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/login/code")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    expect(page.locator("svg.segno")).to_have_count(0)
    page.get_by_label("Security code").fill(pyotp.TOTP(handed_secret).now())
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{server.url}/login/enrol")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Choose a new password and set up your authenticator app"
    )
    expect(page.locator("svg.segno")).to_be_visible()  # the NEW secret's QR code
    new_secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert new_secret != handed_secret
    check("enrolment")

    # A mistake first: the GOV.UK error summary, and the same new secret shown again.
    page.get_by_label("Password you were given").fill(HANDED_OVER)
    page.get_by_label("New password", exact=True).fill(OWN)
    page.get_by_label("Confirm new password").fill(OWN + " typo")
    page.get_by_label("Security code from the new account in your app").fill("000000")
    page.get_by_role("button", name="Save and sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter the same new password twice"
    )
    expect(page).to_have_title(
        "Error: Choose a new password and set up your authenticator app – Contactpoint – GOV.UK"
    )
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == new_secret
    check("enrolment-errors")

    page.get_by_label("Password you were given").fill(HANDED_OVER)
    page.get_by_label("New password", exact=True).fill(OWN)
    page.get_by_label("Confirm new password").fill(OWN)
    page.get_by_label("Security code from the new account in your app").fill(
        pyotp.TOTP(new_secret).now()
    )
    page.get_by_role("button", name="Save and sign in").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a child")
    expect(page.locator(".app-signed-in")).to_contain_text(username)
    check("start-after-enrolment")
