"""No personal data or secrets in any log of a real run (security.md CI row 12): import, link
and the sign-in/enrolment/administration journeys run as subprocesses — the CLI and a live
``contactpoint serve`` — and their stdout, stderr and every log file are searched for canary
names, a date of birth, an NHS number, a postcode, passwords, TOTP secrets and codes, and the
session cookie. Reject reports and exports are data files (0600), not logs: they are left out.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from contactpoint.access import totp
from contactpoint.access.config import SESSION_COOKIE
from contactpoint.db import migrate
from contactpoint.domain.identifiers import nhs_check_digit
from live_server import SRC, serving

GIVEN, FAMILY, DOB, POSTCODE = "Zebedeecanary", "Quixotecanary", "2014-07-19", "ZE9 9QQ"


def _nhs() -> str:
    for stem in range(401_023_457, 401_023_600):
        digit = nhs_check_digit(str(stem))
        if digit is not None:
            return f"{stem}{digit}"
    raise AssertionError("no NHS number")


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "contactpoint", *args], env=env, input=stdin,
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout + "\n" + done.stderr


def test_no_personal_data_in_any_log_of_a_real_run(tmp_path: Path) -> None:
    nhs = _nhs()
    var = tmp_path / "var"
    url = f"sqlite:///{tmp_path / 'canary.sqlite3'}"
    migrate.upgrade(url)
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "CONTACTPOINT_DATABASE_URL": url,
        "CONTACTPOINT_VAR_DIR": str(var),
        "CONTACTPOINT_ARGON2_TIME_COST": "2",
        "CONTACTPOINT_ARGON2_MEMORY_KIB": "19456",
        "CONTACTPOINT_ARGON2_PARALLELISM": "1",
        "CONTACTPOINT_PUBLIC_ORIGIN": "https://contactpoint.test",
    }
    feed = tmp_path / "feeds" / "canary.csv"
    feed.parent.mkdir()
    with feed.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["source_record_id", "given_name", "family_name", "date_of_birth", "sex",
                         "postcode", "nhs_number"])
        for i in range(40):
            writer.writerow([f"K{i}", GIVEN if i < 2 else f"Ann{i}", FAMILY if i < 2 else "Lee",
                             DOB if i < 2 else "2016-01-01", "F", POSTCODE, nhs if i < 2 else ""])
        writer.writerow(["K99", GIVEN, FAMILY, "not a date", "F", POSTCODE, nhs])  # a reject
    feed.with_name("canary.csv.manifest.json").write_text(json.dumps(
        {"source": "NHS-PDS", "extract_date": "2026-11-01", "extract_type": "full"}))

    captured = [_run(env, "import", str(feed), "--report-dir", str(tmp_path / "reports"))]
    captured.append(_run(env, "link"))
    captured.append(_run(env, "orgs", "create", "CANARY-LA", "--name", "Canary council",
                         "--kind", "council", "--la-code", "CAN"))
    captured.append(_run(env, "orgs", "accredit", "CANARY-LA"))
    handed_password = "handed over canary passphrase one"
    created = _run(env, "users", "create", "canary.admin", "--org", "CANARY-LA", "--role",
                   "national_admin", "--vetted-on", "2026-01-05", "--trained-on", "2026-01-06",
                   "--agreement-signed-on", "2026-01-07", "--password-stdin",
                   "--must-enrol", stdin=handed_password + "\n")
    handed_secret = created.split("TOTP secret (shown once):")[1].split()[0]
    captured.append(created.replace(handed_secret, "<the secret, shown once by contract>"))

    secrets = [handed_password, handed_secret]
    new_password = "the owner's own canary passphrase"
    log = tmp_path / "serve.log"
    with serving(env, log) as base, httpx.Client(base_url=base, timeout=60) as web:
        def code(secret: str) -> str:
            value = totp.code_at(secret, datetime.now(UTC))
            secrets.append(value)
            return value

        wrong = web.post("/api/auth/login", json={"username": "canary.admin",
                                                  "password": "wrong canary guess", "otp": "1"})
        assert wrong.status_code == 401
        secrets.append("wrong canary guess")
        started = web.post("/api/auth/enrol/start", json={
            "username": "canary.admin", "password": handed_password, "otp": code(handed_secret)})
        assert started.status_code == 200, started.text
        fresh = started.json()["totp_secret"]
        secrets.extend([fresh, new_password])
        finished = web.post("/api/auth/enrol/finish", json={
            "username": "canary.admin", "password": handed_password,
            "new_password": new_password, "otp": code(fresh)})
        assert finished.status_code == 200, finished.text
        cookie = web.cookies.get(SESSION_COOKIE) or finished.cookies.get(SESSION_COOKIE)
        assert cookie
        secrets.append(cookie)
        # The cookie is Secure (kept by httpx for https only): sent by hand over loopback http.
        admin = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
        made_password = "a made canary passphrase two"
        made = web.post("/api/admin/users", headers=admin, json={
            "username": "canary.worker", "password": made_password,
            "organisation": "CANARY-LA", "role": "practitioner"})
        assert made.status_code == 201, made.text
        secrets.extend([made_password, made.json()["totp_secret"]])
        # A new account changes nobody's privileges for 24 hours (review finding 5): refused,
        # and the refusal is audited, not logged with any detail.
        suspend = web.post("/api/admin/users/canary.worker/suspend", headers=admin)
        assert suspend.status_code == 403, suspend.text
        reset = web.post("/api/admin/users/canary.worker/reset-2fa", headers=admin)
        assert reset.status_code == 403
        assert web.get("/api/admin/users", headers=admin).status_code == 200
    captured.append(log.read_text())
    for path in var.rglob("*.log"):
        captured.append(path.read_text())
    text = "\n".join(captured)
    assert "landed" in text  # the runs did write what we search
    assert '"route":"/api/admin/users"' in text
    for canary in (GIVEN, FAMILY, DOB, POSTCODE, POSTCODE.replace(" ", ""), nhs, *secrets):
        assert canary not in text, canary
