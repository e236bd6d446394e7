# The README's two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GOV.UK Frontend, built from npm (package-lock.json) into the static directory the app serves
# at /assets; never committed (.gitignore), never hand-copied.
ASSETS := src/contactpoint/web/static/govuk
ASSETS_STAMP := $(ASSETS)/.built
GOVUK_DIST := node_modules/govuk-frontend/dist/govuk

.PHONY: help setup assets demo test lint typecheck imports security deps unit bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(ASSETS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)
	cp -R $(GOVUK_DIST)/assets/. $(ASSETS)/
	cp $(GOVUK_DIST)/govuk-frontend.min.css $(GOVUK_DIST)/govuk-frontend.min.js $(ASSETS)/
	touch $(ASSETS_STAMP)

assets: $(ASSETS_STAMP)  ## npm ci, then copy GOV.UK Frontend's built css/js/fonts/images to $(ASSETS)

setup: $(STAMP) $(ASSETS_STAMP)  ## create .venv, install pinned dependencies, build the web assets

demo: $(STAMP) $(ASSETS_STAMP)  ## synthetic population -> import -> link -> summary -> serve the pages (SQLite + DuckDB)
	$(BIN)/contactpoint demo

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy

imports: $(STAMP)  ## import-linter layer contracts
	$(BIN)/lint-imports

security: $(STAMP)  ## bandit -ll over src/, pip-audit (skipped, with the reason, when no advisory data)
	scripts/security-checks $(BIN)

deps: $(STAMP)  ## deptry: every module src/ imports is a declared dependency
	$(BIN)/deptry src

test: lint typecheck imports deps security $(ASSETS_STAMP)  ## everything CI runs
	$(BIN)/python -m pytest -q

clean:  ## remove local state (not the venv)
	rm -rf var
