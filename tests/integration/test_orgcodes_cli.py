"""``contactpoint orgs codes add|list|remove`` against both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from contactpoint.access.testing import unique
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.cli import context
from contactpoint.cli.main import app
from contactpoint.db.engine import make_engine


@pytest.fixture
def cli(module_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", module_db_url)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_feed_codes_are_added_listed_and_removed(cli: CliRunner, module_db_url: str) -> None:
    org = unique("LA")
    made = cli.invoke(app, ["orgs", "create", org, "--name", "Leeds", "--kind", "council"])
    assert made.exit_code == 0, made.output
    added = cli.invoke(app, ["orgs", "codes", "add", org, "csc201", "--kind", "la"])
    assert added.exit_code == 0, added.output
    assert f"CSC201 (la) maps to {org}" in added.output
    again = cli.invoke(app, ["orgs", "codes", "add", org, "CSC201"])
    assert again.exit_code == 1
    assert "already belongs" in again.output
    unknown = cli.invoke(app, ["orgs", "codes", "add", "no-such-org", "X9"])
    assert unknown.exit_code == 1
    listed = cli.invoke(app, ["orgs", "codes", "list", "--org", org, "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == {
        "codes": [{"feed_code": "CSC201", "kind": "la", "organisation": org}]}
    removed = cli.invoke(app, ["orgs", "codes", "remove", "csc201"])
    assert removed.exit_code == 0, removed.output
    assert cli.invoke(app, ["orgs", "codes", "list", "--org", org]).stdout == ""
    engine = make_engine(module_db_url)
    with engine.connect() as conn:
        actions = [e.action for e in trail.for_subject(conn, f"org:{org}")]
    engine.dispose()
    assert actions[-2:] == [AuditAction.ORG_CODE_ADD, AuditAction.ORG_CODE_REMOVE]
