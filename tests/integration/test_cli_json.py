"""``--json``: every command that lists or reports puts one JSON document on standard output
and nothing else there (progress and notes go to standard error), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cli_process import cli_env, run, run_json


def test_every_reporting_command_prints_one_json_document(
    fresh_db_url: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "var", fresh_db_url)
    assert run_json(["db", "status"], env)["current"] is True
    feeds = tmp_path / "feeds"
    made = run_json(["synth", "--children", "150", "--seed", "5", "--out", str(feeds)], env)
    assert made["records"] == sum(made["records_by_source"].values()) > 150

    imported = run_json(["import", str(feeds), "--link"], env)
    assert imported["ok"] is True
    assert {f["status"] for f in imported["files"]} == {"landed"}
    assert any("truth.csv" in note for note in imported["notes"])
    landed = sum(f["rows_landed"] for f in imported["files"])
    assert imported["link"]["records_linked"] == landed
    assert imported["link"]["mode"] == "initial"

    again = run_json(["link"], env)
    assert again["mode"] == "incremental"
    assert again["records_in"] == 0

    accuracy = run_json(["evaluate", "--truth", str(feeds / "truth.csv")], env)
    assert accuracy["records"] == landed
    assert 0.9 <= accuracy["precision"] <= 1.0

    queue = run_json(["review", "list", "--status", "all"], env)
    assert queue["status"] == "all"
    assert isinstance(queue["items"], list)
    if queue["items"]:
        first = queue["items"][0]
        shown = run_json(["review", "show", str(first["id"])], env)
        assert shown["id"] == first["id"]
        assert set(shown["left"]) == {"source", "source_record_id", "child_id", "record"}
        assert {c["comparison"] for c in shown["evidence"]["comparisons"]} >= {"forename", "dob"}

    links = tmp_path / "links.csv"
    exported = run_json(["export", "links", "--out", str(links)], env)
    assert exported["rows"] == landed == len(list(csv.DictReader(links.open())))

    verified = run_json(["audit", "verify"], env)
    assert verified["ok"] is True
    assert verified["first_bad"] is None
    shown_events = run_json(["audit", "show", "--last", "3"], env)
    assert [e["seq"] for e in shown_events] == sorted(e["seq"] for e in shown_events)
    assert len(shown_events) == 3

    created = run_json(["orgs", "create", "LA-1", "--name", "Leeds", "--kind", "council"], env)
    assert created == {"code": "LA-1", "kind": "council", "la_code": None, "accredited": False,
                       "name": "Leeds"}
    assert run_json(["orgs", "accredit", "LA-1"], env)["accredited"] is True
    orgs = run_json(["orgs", "list"], env)
    assert orgs == [{"code": "LA-1", "kind": "council", "la_code": None, "accredited": True,
                     "name": "Leeds"}]
    mapped = run_json(["orgs", "codes", "add", "LA-1", "999"], env)
    assert mapped["feed_code"] == "999"
    assert mapped["organisation"] == "LA-1"
    assert run_json(["orgs", "codes", "remove", "999"], env)["removed"] is True
    fast_hashes = {"CONTACTPOINT_ARGON2_MEMORY_KIB": "19456", "CONTACTPOINT_ARGON2_TIME_COST": "2"}
    made_user = run_json(["users", "create", "ann", "--org", "LA-1", "--role", "practitioner",
                          "--password-stdin"], env | fast_hashes,
                         stdin="a long enough passphrase for tests\n")
    assert made_user["username"] == "ann"
    assert len(made_user["totp_secret"]) >= 32
    assert made_user["enrolment_uri"].startswith("otpauth://totp/")
    assert run_json(["users", "suspend", "ann"], env)["suspended"] is True
    assert run_json(["users", "unsuspend", "ann"], env)["suspended"] is False
    users = run_json(["users", "list"], env)
    assert users == [{"username": "ann", "organisation": "LA-1", "role": "practitioner",
                      "suspended": False, "locked": False, "vetted_on": None}]
    reset = run_json(["users", "reset-2fa", "ann"], env)
    assert reset["totp_secret"] != made_user["totp_secret"]
    assert run_json(["db", "check"], env) == {"agree": True}
    assert run_json(["audit", "key"], env)["verifier_key"]


def test_every_command_but_serve_and_demo_accepts_json() -> None:
    """The contract (spec/cli.md): every command that lists or reports accepts ``--json``.
    Only the two long-running servers print no report."""
    from typer.main import get_command

    from contactpoint.cli.main import build

    def leaves(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path, command
            return
        for name, sub in subcommands.items():
            yield from leaves(sub, (*path, name))

    found = dict(leaves(get_command(build()), ()))
    assert len(found) > 30
    without = sorted(" ".join(path) for path, command in found.items()
                     if not any("--json" in getattr(p, "opts", ()) for p in command.params))
    assert without == ["demo", "serve"]


def test_export_json_needs_a_file(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "var", None)
    done = run(["export", "links", "--json"], env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--json needs --out" in done.stderr


def test_help_is_full_width_when_piped(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "var", None)
    env.pop("TERMINAL_WIDTH", None)
    env.pop("COLUMNS", None)
    done = run(["import", "--help"], env)
    assert done.returncode == 0
    # the longest option help stays on one line instead of being cut at 80 columns
    assert any("even if a file was refused" in line and "--link" in line
               for line in done.stdout.splitlines()), done.stdout
