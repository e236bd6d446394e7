# The README's two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup demo test lint typecheck imports deps unit bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install pinned dependencies

demo: $(STAMP)  ## synthetic population -> import -> link -> summary (SQLite + DuckDB)
	$(BIN)/contactpoint demo

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy

imports: $(STAMP)  ## import-linter layer contracts
	$(BIN)/lint-imports

deps: $(STAMP)  ## deptry: every module src/ imports is a declared dependency
	$(BIN)/deptry src

test: lint typecheck imports deps  ## everything CI runs
	$(BIN)/python -m pytest -q

clean:  ## remove local state (not the venv)
	rm -rf var
