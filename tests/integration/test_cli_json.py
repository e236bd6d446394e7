"""``--json``: every command that lists or reports puts one JSON document on standard output
and nothing else there (progress and notes go to standard error), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

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

    created = run(["orgs", "create", "LA-1", "--name", "Leeds", "--kind", "council",
                   "--accredited"], env)
    assert created.returncode == 0, created.stderr
    orgs = run_json(["orgs", "list"], env)
    assert orgs == [{"code": "LA-1", "kind": "council", "la_code": None, "accredited": True,
                     "name": "Leeds"}]
    made_user = run(["users", "create", "ann", "--org", "LA-1", "--role", "practitioner",
                     "--password-stdin"], env | {"CONTACTPOINT_ARGON2_MEMORY_KIB": "19456",
                                                 "CONTACTPOINT_ARGON2_TIME_COST": "2"},
                    stdin="a long enough passphrase for tests\n")
    assert made_user.returncode == 0, made_user.stderr
    users = run_json(["users", "list"], env)
    assert users == [{"username": "ann", "organisation": "LA-1", "role": "practitioner",
                      "suspended": False, "locked": False, "vetted_on": None}]


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
