"""Server time of the two pages practitioners use most, on a linked database of any size:
find a child (``POST /search``) and the child's record (``GET /children/{id}?ref=N``).

    benchmarks/bench_pages.py DATABASE_URL VAR_DIR FEED_CSV [--queries 300] [--port 8765]

DATABASE_URL and VAR_DIR are those the population was imported and linked with (e.g. by
benchmarks/end_to_end.sh); FEED_CSV is one of its feed files, from which queries are drawn
(given + family name + date of birth, as a practitioner types them). The script starts
``contactpoint serve`` on that database, adds a practitioner with the CLI (``--json``), signs
in over HTTP, then runs the queries one at a time: each search page, then the record of its
first result. Times are measured at the client on 127.0.0.1 (an upper bound of server time:
the HTTP round trip on the loopback is well under a millisecond). One JSON document on
standard output: p50/p95/p99 per page, with the load average beside them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "contactpoint"]
RESULT_LINK = re.compile(r'href="(/children/[0-9]+\?ref=[0-9]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> Any:
    done = subprocess.run([*CLI, *args, "--json"], env=env, input=stdin, text=True,
                          capture_output=True, check=True)
    return json.loads(done.stdout)


def _queries(feed: Path, n: int, seed: int) -> list[dict[str, str]]:
    with feed.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["given_name"] and r["family_name"]
                and r["date_of_birth"]]
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    out = []
    for r in picked:
        year, month, day = r["date_of_birth"].split("-")
        out.append({"given_name": r["given_name"], "family_name": r["family_name"],
                    "date_of_birth-day": day, "date_of_birth-month": month,
                    "date_of_birth-year": year})
    return out


def _percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(cuts[94], 1), "p99_ms": round(cuts[98], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("var_dir", type=Path)
    parser.add_argument("feed_csv", type=Path)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    env = os.environ | {"CONTACTPOINT_DATABASE_URL": args.database_url,
                        "CONTACTPOINT_VAR_DIR": str(args.var_dir),
                        "PYTHONPATH": str(ROOT / "src")}
    suffix = os.urandom(3).hex()
    org, user = f"BENCH-PAGES-{suffix}", f"bench.pages.{suffix}"
    password = "bench pages pass phrase " + os.urandom(6).hex()
    today = datetime.now(UTC).date().isoformat()
    _cli(["orgs", "create", org, "--name", "Bench pages", "--kind", "health", "--accredited"],
         env)
    made = _cli(["users", "create", user, "--org", org, "--role", "practitioner",
                 "--vetted-on", today, "--trained-on", today, "--agreement-signed-on", today,
                 "--password-stdin"], env, stdin=password + "\n")
    server = subprocess.Popen([*CLI, "serve", "--port", str(args.port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        signed = httpx.post(f"{base}/api/auth/login", json={
            "username": user, "password": password, "otp": pyotp.TOTP(made["totp_secret"]).now()})
        signed.raise_for_status()
        # the session cookie is Secure (HTTPS only), so over plain HTTP on the loopback it is
        # sent by hand, as `contactpoint bench search` does
        session = signed.headers["set-cookie"].split(";", 1)[0]
        client = httpx.Client(base_url=base, timeout=30, headers={"Cookie": session})
        token_page = client.get("/search")
        token_page.raise_for_status()
        token = CSRF.search(token_page.text)
        if token is None:
            raise SystemExit("no CSRF token on /search")
        search_ms: list[float] = []
        record_ms: list[float] = []
        found = 0
        for query in _queries(args.feed_csv, args.queries, args.seed):
            form = {"csrf_token": token.group(1), "reason": "benchmark: child protection enquiry",
                    **query}
            t0 = time.perf_counter()
            page = client.post("/search", data=form)
            search_ms.append((time.perf_counter() - t0) * 1000)
            page.raise_for_status()
            link = RESULT_LINK.search(page.text)
            if link is None:
                continue
            found += 1
            t0 = time.perf_counter()
            record = client.get(link.group(1))
            record_ms.append((time.perf_counter() - t0) * 1000)
            record.raise_for_status()
        print(json.dumps({
            "queries": len(search_ms), "with_a_result": found,
            "search_page": _percentiles(search_ms), "record_page": _percentiles(record_ms),
            "load_average": os.getloadavg(),
        }, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)
        _cli(["users", "suspend", user], env)


if __name__ == "__main__":
    main()
