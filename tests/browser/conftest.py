"""A real browser on the real app: uvicorn on 127.0.0.1 (SQLite in a temporary directory) and
Debian's chromium driven by Playwright, with axe-core checked on every page visited.

Skipped only when /usr/bin/chromium is absent (``.ci/run`` installs it). Never run
``playwright install``: it downloads a browser, and we use Debian's.
Set ``CONTACTPOINT_SCREENSHOTS=docs/screenshots`` to also write the README's screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import Engine

from contactpoint.access.config import AccessSettings
from contactpoint.access.permissions import Role
from contactpoint.access.testing import FAST_SETTINGS, Account, make_org, make_user
from contactpoint.access.totp import consume_step, time_step
from contactpoint.app import create_app
from contactpoint.db import migrate
from contactpoint.db.engine import make_engine
from contactpoint.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
# The pages shown in the README (docs/screenshots/NAME.png).
SCREENSHOTS = frozenset({
    "enrol-authenticator", "council-users", "council-add-user-errors", "audit-search-results",
    "audit-verify", "idle-warning",
    "council-worklist", "review-item", "shield-set", "council-cme",  # the council's pages
    "practitioner-search-errors", "practitioner-results", "child-record", "child-shielded",
})
# cheap hashes (tests only: FAST_SETTINGS skips the policy floors), no machine-client origin
FAST = FAST_SETTINGS.model_copy(update={"public_origin": None})

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    engine: Engine
    thread: threading.Thread
    server: uvicorn.Server


def _serve(db_url: str, engine: Engine, access: AccessSettings) -> Server:
    app = create_app(Settings(database_url=db_url), access_settings=access, engine=engine)
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return Server(f"http://127.0.0.1:{port}", engine, thread, server)


@pytest.fixture(scope="session")
def browser_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    directory = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{directory / 'contactpoint.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def _server_fixture(**overrides: Any) -> Callable[..., Iterator[Server]]:
    def fixture(browser_db: tuple[str, Engine]) -> Iterator[Server]:
        url, engine = browser_db
        served = _serve(url, engine, FAST.model_copy(update=overrides))
        yield served
        served.server.should_exit = True
        served.thread.join(timeout=10)

    return fixture


server = pytest.fixture(scope="session")(_server_fixture())
# The same data with a 1-minute idle limit: the time-out warning shows at once.
short_idle_server = pytest.fixture(scope="session")(_server_fixture(session_idle_minutes=1))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # axe is injected as a script tag; our CSP (rightly) refuses inline scripts, so the axe
    # contexts bypass it. test_no_csp_violations visits the pages with the CSP enforced.
    context = browser.new_context(viewport={"width": 1000, "height": 800}, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed ({AXE}): run `make assets` (npm ci)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def check(page: Page, axe_source: str) -> Callable[[str], None]:
    """``check(name)``: axe on the current page (no serious or critical violation of WCAG 2.2
    A/AA), and a screenshot called ``name`` when screenshots are asked for."""

    def run(name: str) -> None:
        page.wait_for_load_state("load")
        page.add_script_tag(content=axe_source)
        violations = page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return result.violations
                  .filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => ({id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }""",
            AXE_TAGS,
        )
        assert violations == [], f"{name} ({page.url}): " + json.dumps(violations, indent=1)
        screenshots = os.environ.get("CONTACTPOINT_SCREENSHOTS")
        if screenshots and name in SCREENSHOTS:
            target = Path(screenshots)
            target.mkdir(parents=True, exist_ok=True)
            path = target / f"{name}.png"
            page.screenshot(path=str(path), type="png", full_page=True)
            _optimise(path)

    return run


def _optimise(path: Path) -> None:
    """Shrink a screenshot with pngquant when it is installed (apt-get install pngquant)."""
    pngquant = shutil.which("pngquant")
    if pngquant:
        subprocess.run(
            [pngquant, "--force", "--skip-if-larger", "--strip", "--quality=70-95",
             "--output", str(path), str(path)],
            check=False,
        )


@pytest.fixture
def new_account(browser_db: tuple[str, Engine]) -> Callable[..., Account]:
    """A fresh, cleared account (each test its own: TOTP codes cannot be reused)."""
    from contactpoint.access.config import system_clock
    from contactpoint.access.passwords import PasswordHashing
    from contactpoint.access.service import AccessService

    _, engine = browser_db

    def make(role: Role, *, la_code: str = "LA1", enrolled: bool = True,
             org: str | None = None) -> Account:
        settings = FAST
        with engine.begin() as conn:
            service = AccessService(
                conn, settings, PasswordHashing(settings.hash_parameters), system_clock
            )
            org_code = org or make_org(service, la_code=la_code)
            account = make_user(service, org_code, role)
            if enrolled:  # as if the app had been set up at an earlier sign-in
                user = service.user(account.username)
                consume_step(conn, user.id, time_step(system_clock()) - 10)
        return account

    return make


def current_code(secret: str) -> str:
    return str(pyotp.TOTP(secret).now())


def sign_in(page: Page, base: str, account: Account, check: Callable[[str], None] | None = None,
            *, shots: tuple[str, str] = ("sign-in", "security-code")) -> None:
    page.goto(f"{base}/login")
    if check:
        check(shots[0])
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/login/code")
    if check:
        check(shots[1])
    page.get_by_label("Security code").fill(current_code(account.totp_secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
