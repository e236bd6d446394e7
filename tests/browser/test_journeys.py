"""Journeys in Debian's chromium, axe-core on every page: sign-in (with first-sign-in enrolment),
keyboard-only sign-in, sign-out, the idle warning, the auditor's search, the council's users."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from contactpoint.access.permissions import Role
from contactpoint.access.testing import Account

from .conftest import CHROMIUM, Server, current_code, sign_in

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian chromium is not installed (/usr/bin/chromium); .ci/run installs it with apt-get",
)

Check = Callable[[str], None]
NewAccount = Callable[..., Account]


def test_first_sign_in_enrols_the_app_then_signs_out(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    account = new_account(Role.PRACTITIONER, enrolled=False)
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/login")  # signed out: to the sign-in page
    expect(page).to_have_title("Sign in – Contactpoint – GOV.UK")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    expect(page.locator("svg.segno")).to_be_visible()  # the QR code
    check("enrol-authenticator")
    shown = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert shown == account.totp_secret
    page.get_by_label("Security code").fill(pyotp.TOTP(shown).now())  # the app's code
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a child")
    expect(page.locator(".app-signed-in")).to_contain_text(account.username)
    check("start-practitioner")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login?signed_out=true")
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    check("signed-out")
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/login")


def test_a_wrong_password_gets_the_one_answer_after_the_code_then_a_retry_works(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    account = new_account(Role.PRACTITIONER)
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password", exact=True).fill("this is not the password")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    page.get_by_label("Security code").fill(current_code(account.totp_secret))
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("The username, password or code is not right")
    expect(summary).to_be_focused()  # GOV.UK Frontend's script moves focus to the summary
    expect(page).to_have_title("Error: Sign in – Contactpoint – GOV.UK")
    check("sign-in-error")
    # the form on the error page works (its CSRF token is bound to what the browser holds)
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(current_code(account.totp_secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")


def _tab_to(page: Page, element_id: str, limit: int = 15) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def _focus_is_visible(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                       return (s.outlineStyle !== 'none' && s.outlineWidth !== '0px')
                              || s.boxShadow !== 'none'; }"""
        )
    )


def test_sign_in_with_the_keyboard_alone(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    account = new_account(Role.PRACTITIONER)
    page.goto(f"{server.url}/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    _tab_to(page, "username")
    assert _focus_is_visible(page)
    page.keyboard.type(account.username)
    _tab_to(page, "password")
    assert _focus_is_visible(page)
    page.keyboard.type(account.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/login/code")
    _tab_to(page, "code")
    page.keyboard.type(current_code(account.totp_secret))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/")
    check("start-keyboard")


def test_no_csp_violations_and_govuk_frontend_runs(
    browser: Browser, server: Server, new_account: NewAccount
) -> None:
    account = new_account(Role.AUDITOR, enrolled=False)
    context = browser.new_context()  # the CSP enforced, as for users
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{server.url}/login")
        expect(page.locator("body")).to_have_class(re.compile("govuk-frontend-supported"))
        # the password input's "Show" button exists only when GOV.UK Frontend's JS ran
        expect(page.get_by_role("button", name="Show password")).to_be_visible()
        page.get_by_label("Username").fill(account.username)
        page.get_by_label("Password", exact=True).fill(account.password)
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("svg.segno")).to_be_visible()
        page.get_by_label("Security code").fill(current_code(account.totp_secret))
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{server.url}/")
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Audit")  # the start page has rendered (not just its URL)
        css = heading.evaluate("h1 => getComputedStyle(h1).fontFamily")
        assert "GDS Transport" in css or "arial" in css.lower()
    finally:
        context.close()
    assert problems == []


def test_the_idle_warning_and_stay_signed_in(
    page: Page, short_idle_server: Server, check: Check, new_account: NewAccount
) -> None:
    account = new_account(Role.AUDITOR)
    sign_in(page, short_idle_server.url, account)
    warning = page.locator("[data-module=app-idle-warning]")
    expect(warning).to_be_visible()  # 1-minute limit: inside the 5-minute warning at once
    expect(warning).to_be_focused()
    expect(warning).to_contain_text("You will be signed out in")
    check("idle-warning")
    warning.get_by_role("button", name="Stay signed in").click()
    expect(page).to_have_url(f"{short_idle_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit")


def test_auditor_searches_the_trail(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    someone = new_account(Role.PRACTITIONER)
    sign_in(page, server.url, someone)
    page.context.clear_cookies()
    auditor = new_account(Role.AUDITOR)
    sign_in(page, server.url, auditor)
    check("start-auditor")
    page.get_by_role("link", name="Search the audit trail").first.click()
    expect(page).to_have_title("Search the audit trail – Contactpoint – GOV.UK")
    check("audit-search-form")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a child id")
    check("audit-search-error")
    page.get_by_label("Username").fill(someone.username)
    page.get_by_role("button", name="Search").click()
    table = page.locator("table.govuk-table")
    expect(table).to_contain_text("auth:session:sign_in")
    expect(table).to_contain_text(f"user:{someone.username}")
    check("audit-search-results")
    page.get_by_role("link", name="Check the audit trail has not been changed").click()
    expect(page.locator("#chain-status")).to_contain_text("The audit trail is intact")
    check("audit-verify")


def test_council_team_adds_and_suspends_a_user(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    council = new_account(Role.COUNCIL_TEAM, la_code="LA7")
    colleague = new_account(Role.PRACTITIONER, org=council.organisation)
    sign_in(page, server.url, council)
    check("start-council")
    page.get_by_role("link", name="Users").first.click()
    expect(page).to_have_title("Users – Contactpoint – GOV.UK")
    expect(page.locator("#users")).to_contain_text(colleague.username)
    check("council-users")
    page.get_by_role("button", name="Add a user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a user")
    page.get_by_role("button", name="Add user").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a username")
    expect(summary).to_contain_text("Select a role")
    check("council-add-user-errors")
    page.get_by_label("Username").fill("new.worker")
    page.get_by_label("Password", exact=True).fill("a long enough pass phrase 9377")
    page.get_by_label("Organisation").select_option(council.organisation)
    page.get_by_label("Practitioner").check()
    page.locator("#vetted_on-day").fill("2")
    page.locator("#vetted_on-month").fill("11")
    page.locator("#vetted_on-year").fill("2026")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("new.worker")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("User added")
    check("council-user-added")
    page.get_by_role("link", name="Back to users").click()
    page.get_by_role("link", name=colleague.username).click()
    page.get_by_role("button", name="Suspend user").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Suspended")
    check("council-user-suspended")


def test_the_axe_check_catches_a_violation(page: Page, server: Server, check: Check) -> None:
    page.goto(f"{server.url}/login")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<input type=text id=unlabelled>')"
    )
    with pytest.raises(AssertionError, match="label"):
        check("never-written")


def test_council_team_changes_a_role_and_dates(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    council = new_account(Role.COUNCIL_TEAM, la_code="LA8")
    colleague = new_account(Role.PRACTITIONER, org=council.organisation)
    sign_in(page, server.url, council)
    page.goto(f"{server.url}/users/{colleague.username}")
    check("council-user")
    page.get_by_role("link", name="Change role").click()
    expect(page).to_have_title(f"Change the role of {colleague.username} – Contactpoint – GOV.UK")
    check("council-user-role")
    page.get_by_label("Council team").check()
    page.get_by_role("button", name="Save role").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Council team")
    page.get_by_role("link", name="Change dates").click()
    check("council-user-dates")
    page.locator("#trained_on-month").fill("13")
    page.get_by_role("button", name="Save dates").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The training date must be a real date"
    )
    check("council-user-dates-error")
    page.locator("#trained_on-month").fill("10")
    page.get_by_role("button", name="Save dates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(colleague.username)


def test_step_up_and_error_pages(
    page: Page, server: Server, check: Check, new_account: NewAccount
) -> None:
    practitioner = new_account(Role.PRACTITIONER)
    sign_in(page, server.url, practitioner)
    page.goto(f"{server.url}/reauth?next=/")
    expect(page).to_have_title("Confirm it is you – Contactpoint – GOV.UK")
    check("step-up")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your password")
    check("step-up-error")
    page.get_by_label("Password", exact=True).fill(practitioner.password)
    page.get_by_label("Security code").fill(
        pyotp.TOTP(practitioner.totp_secret).at(time.time() + 30)  # the next step's code
    )
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/")
    forbidden = page.goto(f"{server.url}/audit")
    assert forbidden is not None
    assert forbidden.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    check("forbidden")
    missing = page.goto(f"{server.url}/no/such/page")
    assert missing is not None
    assert missing.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check("not-found")
