"""Static files: GOV.UK Frontend's built assets at ``/assets`` and our own at ``/static``.

GOV.UK Frontend comes from npm (``package.json``/``package-lock.json``); ``make assets`` copies
its built css, js, fonts and images into ``static/govuk`` (gitignored, never hand-copied).
Without them the pages still render, unstyled, and a warning says how to build them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import Router

log = logging.getLogger("contactpoint.web")

STATIC_DIR = Path(__file__).parent / "static"
GOVUK_DIR = STATIC_DIR / "govuk"
APP_DIR = STATIC_DIR / "app"
GOVUK_CSS = "govuk-frontend.min.css"
BUILD_HINT = "run `make assets` (npm ci, then copy GOV.UK Frontend into {dir})"

# Where they are served; both are public (no personal data) and reviewed in app.PUBLIC_MOUNTS.
GOVUK_MOUNT = "/assets"
APP_MOUNT = "/static"


def govuk_built() -> bool:
    return (GOVUK_DIR / GOVUK_CSS).is_file()


def mount(app: FastAPI) -> bool:
    """Mount both directories; returns whether GOV.UK Frontend was built."""
    built = govuk_built()
    if not built:
        log.warning(
            "GOV.UK Frontend assets are missing; pages render unstyled",
            extra={"hint": BUILD_HINT.format(dir=GOVUK_DIR)},
        )
    # Not built: an empty router, so every asset is a plain 404 (never a 500).
    govuk = StaticFiles(directory=GOVUK_DIR) if built else Router()
    app.mount(GOVUK_MOUNT, govuk, name="govuk-assets")
    app.mount(APP_MOUNT, StaticFiles(directory=APP_DIR), name="app-static")
    return built
