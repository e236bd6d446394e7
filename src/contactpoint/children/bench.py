"""``contactpoint bench search``: accuracy and latency of practitioner search, over HTTP.

1. A synthetic population (``contactpoint synth``) is written; a share of its children is held
   out of the import (their CSV and FHIR records are filtered away; CTF files are left out).
2. The rest is imported and linked with the real commands, into the database given.
3. A query set is generated from the truth: for children in the index, every noise kind a
   practitioner produces (typos, nicknames and known-as names, transliteration variants, a
   former surname, day and month swapped, an old postcode, the district only, an age range,
   NHS number alone, UPN alone); for the held-out children, ordinary queries that must not
   come back at high confidence.
4. ``contactpoint serve`` is started; a practitioner signs in; the queries are sent with 1 and
   with N concurrent clients (a closed-loop asyncio driver: kept-alive connections whose
   responses httptools parses, as little client CPU as can be on the server's machine).
   Latency is read both at the client and at the server (the access log's ``duration_ms`` for
   the search route).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httptools
import httpx
import polars as pl
from sqlalchemy.engine import make_url

from contactpoint.access import totp
from contactpoint.access.config import load_access_settings, system_clock
from contactpoint.access.models import AuditContext
from contactpoint.access.passwords import PasswordHashing
from contactpoint.access.permissions import Role
from contactpoint.access.service import AccessService
from contactpoint.db.engine import make_engine
from contactpoint.domain.identifiers import InvalidIdentifier, normalise_postcode

KINDS = (
    "exact", "typo", "nickname", "variant", "former_surname", "day_month_swap",
    "old_postcode", "district_only", "age_range", "nhs_alone", "upn_alone",
)
SEARCH_ROUTE = "/api/children/search"
PREFERRED_SOURCES = ("GRO-BIRTHS", "HMRC-CHB", "DFE-CENSUS")


@dataclass(frozen=True)
class Query:
    kind: str
    person: str
    present: bool
    body: dict[str, str]


def _cli(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "contactpoint", *args], env=env, check=True,  # noqa: S603
                   stdout=subprocess.DEVNULL)


def _nickname_groups() -> list[list[str]]:
    text = resources.files("contactpoint.matching").joinpath("data/nicknames.txt").read_text()
    return [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _feed_csvs(feeds: Path) -> list[Path]:
    return [p for p in sorted(feeds.glob("*.csv")) if Path(f"{p}.manifest.json").exists()]


def _csv_frames(feeds: Path) -> pl.DataFrame:
    frames = []
    for path in _feed_csvs(feeds):
        manifest = json.loads(Path(f"{path}.manifest.json").read_text())
        df = pl.read_csv(path, infer_schema_length=0).with_columns(
            pl.lit(manifest["source"]).alias("source"))
        frames.append(df)
    return pl.concat(frames, how="diagonal_relaxed")


def hold_out(feeds: Path, out: Path, share: float, seed: int) -> set[str]:
    """Copy ``feeds`` to ``out`` without the records of a random share of persons who have a
    CSV record; returns their person ids."""
    truth = pl.read_csv(feeds / "truth.csv", infer_schema_length=0)
    csv_sources = set(_csv_frames(feeds)["source"].unique().to_list())
    candidates = sorted(set(truth.filter(pl.col("source").is_in(sorted(csv_sources)))
                            ["person_id"].to_list()))
    rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    held = set(rng.sample(candidates, max(1, int(len(candidates) * share))))
    held_ids = set(truth.filter(pl.col("person_id").is_in(sorted(held)))
                   ["source_record_id"].to_list())
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for path in _feed_csvs(feeds):
        df = pl.read_csv(path, infer_schema_length=0).filter(
            ~pl.col("source_record_id").is_in(sorted(held_ids)))
        if df.height == 0:  # a full extract with no records would retire the whole source
            continue
        df.write_csv(out / path.name)
        shutil.copy(f"{path}.manifest.json", out / f"{path.name}.manifest.json")
    for path in sorted(feeds.glob("*.ndjson")):
        with path.open() as src, (out / path.name).open("w") as dst:
            for line in src:
                obj = json.loads(line)
                rid = str(obj.get("id", ""))
                patient = str(obj.get("patient", {}).get("reference", "")).removeprefix(
                    "Patient/")
                if rid in held_ids or patient in held_ids or rid.split("-rp")[0] in held_ids:
                    continue
                dst.write(line)
        shutil.copy(f"{path}.manifest.json", out / f"{path.name}.manifest.json")
    return held


def _postcode(value: Any) -> str | None:
    if not value:
        return None
    try:
        return normalise_postcode(str(value))
    except InvalidIdentifier:
        return None


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 1)
    op = rng.choice(("drop", "swap", "double"))
    if op == "drop":
        return name[:i] + name[i + 1:]
    if op == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return name[:i] + name[i] + name[i:]


def build_queries(
    feeds: Path, held: set[str], n: int, seed: int,
    identifiers: dict[str, tuple[str | None, str | None]] | None = None,
) -> tuple[list[Query], dict[str, dict[str, Any]]]:
    """The query set, and each person's reference row (from their CSV records; NHS number and
    UPN also from any imported record, ``identifiers``: person -> (nhs, upn))."""
    rng = random.Random(seed + 1)  # noqa: S311 (reproducible noise, not a secret)
    truth = pl.read_csv(feeds / "truth.csv", infer_schema_length=0)
    rows = _csv_frames(feeds).join(
        truth.rename({"source": "src"}), left_on=["source", "source_record_id"],
        right_on=["src", "source_record_id"], how="inner")
    order = {s: i for i, s in enumerate(PREFERRED_SOURCES)}
    by_person: dict[str, list[dict[str, Any]]] = {}
    for row in rows.iter_rows(named=True):
        by_person.setdefault(row["person_id"], []).append(row)
    ref: dict[str, dict[str, Any]] = {}
    for pid, recs in by_person.items():
        recs.sort(key=lambda r: order.get(r["source"], 99))
        best = dict(recs[0])
        for field in ("nhs_number", "upn", "former_family_name", "postcode"):
            if not best.get(field):
                best[field] = next((r[field] for r in recs if r.get(field)), None)
        best["postcode"] = _postcode(best.get("postcode"))
        known = (identifiers or {}).get(pid, (None, None))
        best["nhs_number"] = best.get("nhs_number") or known[0]
        best["upn"] = best.get("upn") or known[1]
        ref[pid] = best
    groups = _nickname_groups()
    group_of: dict[str, list[str]] = {}
    for g in groups:
        for name in g:
            group_of.setdefault(name, g)
    present = sorted(p for p in ref if p not in held)
    postcodes = [r["postcode"] for r in ref.values() if r["postcode"]]
    rng.shuffle(present)
    queries: list[Query] = []
    for i, pid in enumerate(present[:n]):
        r = ref[pid]
        kind = KINDS[i % len(KINDS)]
        body = _query(kind, r, rng, group_of, postcodes)
        if body is None:
            kind, body = "exact", _query("exact", r, rng, group_of, postcodes)
        assert body is not None
        queries.append(Query(kind, pid, True, body))
    for i, pid in enumerate(sorted(held)):
        held_row = ref.get(pid)
        if held_row is None:
            continue
        kind = "exact" if i % 2 == 0 else "district_only"
        absent = _query(kind, held_row, rng, group_of, postcodes)
        if absent is not None:
            queries.append(Query(f"absent_{kind}", pid, False, absent))
    return queries, ref


def _query(kind: str, r: dict[str, Any], rng: random.Random, group_of: dict[str, list[str]],
           postcodes: list[str]) -> dict[str, str] | None:
    given, family, dob = r["given_name"], r["family_name"], r["date_of_birth"]
    base = {"given_name": given, "family_name": family, "date_of_birth": dob}
    if kind == "exact":
        return base
    if kind == "typo":
        field = rng.choice(("given_name", "family_name"))
        return {**base, field: _typo(base[field], rng)}
    if kind in ("nickname", "variant"):
        if r.get("preferred_name") and kind == "nickname":
            return {**base, "given_name": r["preferred_name"]}
        group = group_of.get(given.lower(), [])
        if kind == "nickname":
            options = [g for g in group if len(g) < len(given) and g != given.lower()]
        else:
            options = [g for g in group if len(g) >= len(given) - 1 and g != given.lower()]
        if not options:
            return None
        return {**base, "given_name": rng.choice(options).capitalize()}
    if kind == "former_surname":
        if not r.get("former_family_name"):
            return None
        return {**base, "family_name": r["former_family_name"]}
    if kind == "day_month_swap":
        d = date.fromisoformat(dob)
        if d.day > 12 or d.day == d.month:
            return None
        return {**base, "date_of_birth": date(d.year, d.day, d.month).isoformat()}
    if kind == "old_postcode":
        if not postcodes:
            return None
        return {"family_name": family, "date_of_birth": dob, "postcode": rng.choice(postcodes)}
    if kind == "district_only":
        if not r.get("postcode"):
            return None
        return {"given_name": given, "date_of_birth": dob,
                "postcode": str(r["postcode"]).split(" ")[0]}
    if kind == "age_range":
        if not r.get("postcode"):
            return None
        d = date.fromisoformat(dob)
        lo = d - timedelta(days=rng.randrange(30, 700))
        return {"given_name": given, "family_name": family, "born_from": lo.isoformat(),
                "born_to": (lo + timedelta(days=4 * 365)).isoformat(),
                "postcode": str(r["postcode"]).split(" ")[0]}
    if kind == "nhs_alone":
        return {"nhs_number": r["nhs_number"]} if r.get("nhs_number") else None
    if kind == "upn_alone":
        return {"upn": r["upn"]} if r.get("upn") else None
    raise ValueError(kind)


def _children_of_persons(
    url: str, truth: pl.DataFrame
) -> tuple[dict[str, frozenset[str]], dict[str, str],
           dict[str, tuple[str | None, str | None]]]:
    """person -> the children holding most of their records (one, unless split evenly);
    child -> its main person; person -> an NHS number and a UPN their imported records
    carry."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT s.source_code, s.source_record_id, c.child_id, s.nhs_number, s.upn "
                "FROM source_record s "
                "JOIN record_link l ON l.record_key = s.id JOIN child c ON c.id = l.child_key "
                "WHERE s.record_status = 'active'").all()
    finally:
        engine.dispose()
    links = pl.DataFrame([tuple(r) for r in rows], schema=dict.fromkeys(
        ("source", "source_record_id", "child_id", "nhs_number", "upn"), pl.Utf8()),
        orient="row")
    joined = links.join(truth, on=["source", "source_record_id"])
    counts = joined.group_by(["person_id", "child_id"]).len()
    # a person split over several children is found by the child holding most of their
    # records; when two hold as many, either is (neither is more "the" child than the other)
    ordered = counts.sort(["len", "child_id", "person_id"], descending=[True, False, False])
    most = counts.group_by("person_id").agg(pl.col("len").max().alias("most"))
    best_child = counts.join(most, on="person_id").filter(pl.col("len") == pl.col("most")) \
        .group_by("person_id").agg(pl.col("child_id").sort())
    best_person = ordered.group_by("child_id", maintain_order=True).first()
    ids = joined.group_by("person_id").agg(pl.col("nhs_number").drop_nulls().first(),
                                           pl.col("upn").drop_nulls().first())
    return ({p: frozenset(c) for p, c in best_child.select("person_id", "child_id").iter_rows()},
            dict(best_person.select("child_id", "person_id").iter_rows()),
            {p: (a, b) for p, a, b in ids.iter_rows()})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _account(url: str, var_dir: Path) -> tuple[str, str, str]:
    # the server's var dir: TOTP secrets are sealed with the key file kept there
    access = load_access_settings().model_copy(update={"var_dir": var_dir})
    engine = make_engine(url)
    password = "bench search pass phrase " + os.urandom(6).hex()
    name = "bench." + os.urandom(3).hex()
    ctx = AuditContext("cli:bench", None, None)
    try:
        with engine.begin() as conn:
            service = AccessService(conn, access, PasswordHashing(access.hash_parameters),
                                    system_clock)
            if not any(o.code == "BENCH-LA" for o in service.organisations()):
                service.create_organisation("BENCH-LA", "Bench council", "council",
                                            accredited=True, la_code="BENCH", ctx=ctx)
            today = datetime.now(UTC).date()
            made = service.create_user(
                name, password, organisation_code="BENCH-LA", role=Role.PRACTITIONER,
                vetted_on=today, trained_on=today, agreement_signed_on=today, ctx=ctx)
    finally:
        engine.dispose()
    return name, password, made.totp_secret


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2),
            "n": len(values)}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU used by the process and its descendants (the server's worker
    processes), from Linux ``/proc``; None elsewhere. A figure the other processes on a shared
    machine do not inflate, unlike latency. (A worker that exits takes its figure with it.)"""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if pid not in stats:
        return None
    tree, total, grew = {pid}, 0.0, True
    while grew:
        grown = {p for p, (parent, _) in stats.items() if parent in tree} | tree
        grew, tree = grown != tree, grown
    for p in tree:
        total += stats[p][1]
    return total


def _database_cpu_seconds(url: str) -> float | None:
    """User + system CPU of the PostgreSQL backends serving ``url``'s database, when they run
    on this machine (from ``/proc``; None otherwise or for SQLite). The server's connections
    stay open through a run, so the difference over a run is the database's share of it."""
    if not url.startswith("postgresql"):
        return None
    database = make_url(url).database
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0.0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total, seen = total + (int(fields[11]) + int(fields[12])) / tick, True
    return total if seen else None


def _per_search_ms(before: float | None, after: float | None, searches: int) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) * 1000 / searches, 2)


def _server_processes(log: Path) -> int | None:
    """How many processes ``serve`` said it runs (its first lines)."""
    for line in log.read_text(errors="replace").splitlines()[:20]:
        if line.endswith("server process(es)"):
            return int(line.split()[0])
    return None


def _server_durations(log: Path, start: int) -> tuple[list[float], int]:
    text = log.read_text(errors="replace")
    out = []
    for line in text[start:].splitlines():
        if SEARCH_ROUTE in line and '"duration_ms"' in line:
            try:
                out.append(float(json.loads(line)["duration_ms"]))
            except (ValueError, KeyError):
                continue
    return out, len(text)


class _KeptAlive(asyncio.Protocol):
    """One client connection kept alive: a request's bytes out, its response read by
    httptools' parser (the one ``serve`` uses). A load generator as light as it can be, so
    that on a shared machine the server's CPU is not spent in the client (httpx costs about
    2.5 ms of CPU per request here, the server itself about 4)."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._body: list[bytes] = []
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((self._parser.get_status_code(), b"".join(self._body)))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ConnectionError("the server closed the connection"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self._transport is not None
        self._body = []
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _search_request(host: str, cookie: str, body: dict[str, str]) -> bytes:
    content = json.dumps({"reason": "bench", **body}).encode()
    head = (f"POST {SEARCH_ROUTE} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n\r\n")
    return head.encode() + content


async def _drive(base: str, cookie: str, queries: list[Query], clients: int
                 ) -> tuple[list[float], list[list[dict[str, Any]]], float]:
    """Send every query once, ``clients`` at a time: each client a kept-alive connection that
    sends its next query as soon as its last is answered (a closed loop)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    requests = [_search_request(f"{host}:{port}", cookie, q.body) for q in queries]
    latencies: list[float] = [0.0] * len(queries)
    results: list[list[dict[str, Any]]] = [[] for _ in queries]
    turns = iter(range(len(queries)))  # shared: each client takes the next query
    loop = asyncio.get_running_loop()

    async def client() -> None:
        _, connection = await loop.create_connection(_KeptAlive, host, int(port))
        try:
            for i in turns:
                t = time.perf_counter()
                status, body = await connection.send(requests[i])
                latencies[i] = (time.perf_counter() - t) * 1000
                if status != 200:
                    raise RuntimeError(f"search answered {status}: {body[:200]!r}")
                results[i] = json.loads(body)["results"]
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, results, time.perf_counter() - started


@dataclass
class _Server:
    proc: subprocess.Popen[bytes]
    log: Path
    base: str


def _serve(env: dict[str, str], workdir: Path) -> _Server:
    port = _free_port()
    log = workdir / "serve.log"
    handle = log.open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "contactpoint", "serve", "--port", str(port)], env=env,
        stdout=handle, stderr=handle)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return _Server(proc, log, base)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer /health")


def _login(base: str, account: tuple[str, str, str]) -> str:
    """Sign the new practitioner in: its first sign-in enrols (a new TOTP secret and password;
    a code is accepted once, so enrolment comes first rather than after a refused login)."""
    name, password, secret = account
    started = httpx.post(f"{base}/api/auth/enrol/start", json={
        "username": name, "password": password,
        "otp": totp.code_at(secret, datetime.now(UTC))})
    started.raise_for_status()
    fresh = started.json()["totp_secret"]
    r = httpx.post(f"{base}/api/auth/enrol/finish", json={
        "username": name, "password": password, "new_password": password + " renewed",
        "otp": totp.code_at(fresh, datetime.now(UTC))})
    r.raise_for_status()
    return r.headers["set-cookie"].split(";", 1)[0]


def _accuracy(queries: list[Query], results: list[list[dict[str, Any]]],
              expected: dict[str, frozenset[str]], person_of: dict[str, str],
              ref: dict[str, dict[str, Any]]) -> dict[str, Any]:
    top1 = top3 = present = absent = absent_high = twins = ties = 0
    per_kind: dict[str, Counter[str]] = {}
    for q, res in zip(queries, results, strict=True):
        ids = [r["child_id"] for r in res]
        counter = per_kind.setdefault(q.kind, Counter())
        counter["n"] += 1
        if not q.present:
            absent += 1
            if any(r["confidence"] >= 0.9 for r in res):
                absent_high += 1
                counter["high"] += 1
            continue
        present += 1
        want = expected.get(q.person)
        if want is None:
            counter["unlinked"] += 1
            continue
        if ids[:1] and ids[0] in want:
            top1 += 1
            counter["top1"] += 1
        if any(i in want for i in ids[:3]):
            top3 += 1
            counter["top3"] += 1
        pos = next((n for n, i in enumerate(ids) if i in want), len(ids))
        mine = res[pos]["confidence"] if pos < len(ids) else -1.0
        if ids and ids[0] not in want and mine >= res[0]["confidence"]:
            ties += 1  # the query cannot tell them apart (twins and no forename; namesakes)
            counter["tie"] += 1
        a = ref.get(q.person)
        for r in res[:pos]:  # strictly above only: a twin tied with the asked child is not
            b = ref.get(person_of.get(r["child_id"]) or "")
            if (r["confidence"] > mine and a and b and b is not a
                    and all(a[k] == b[k] for k in ("date_of_birth", "family_name", "postcode"))):
                twins += 1  # a child born the same day in the same home ranked above
                counter["twin"] += 1
                break
    return {
        "present_queries": present, "absent_queries": absent,
        "top1": round(top1 / max(1, present), 4), "top3": round(top3 / max(1, present), 4),
        "absent_at_0_9": round(absent_high / max(1, absent), 4),
        "twin_confusions": twins,
        "top1_ties": ties,
        "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
    }


def run_search_benchmark(
    *, children: int, seed: int, url: str, workdir: Path, share_held: float = 0.02,
    queries: int = 2000, clients: tuple[int, ...] = (1, 20), repeat: int = 1,
    existing: Path | None = None,
) -> dict[str, Any]:
    """``existing``: the feeds of a population already imported and linked into ``url`` (and
    whose var dir is ``workdir/var``): no synth, import or link; the children "not in the
    index" are then the truth's persons none of whose records is linked."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": url,
           "CONTACTPOINT_VAR_DIR": str(workdir / "var")}
    feeds, held_dir = existing or workdir / "feeds", workdir / "import"
    figures: dict[str, Any] = {"children": children, "seed": seed,
                               "database": url.split(":", 1)[0]}
    t = time.perf_counter()
    held: set[str] = set()
    if existing is None:
        if not (feeds / "truth.csv").exists():
            _cli(["synth", "--children", str(children), "--seed", str(seed), "--out",
                  str(feeds)], env)
        held = hold_out(feeds, held_dir, share_held, seed)
        _cli(["db", "upgrade"], env)
        _cli(["import", str(held_dir)], env)
        _cli(["link"], env)
        figures["setup_seconds"] = round(time.perf_counter() - t, 1)
    truth = pl.read_csv(feeds / "truth.csv", infer_schema_length=0)
    expected, person_of, identifiers = _children_of_persons(url, truth)
    if existing is not None:
        held = set(truth["person_id"].unique().to_list()) - set(expected)
        figures["children"] = len(set(person_of))
    figures["held_out_children"] = len(held)
    qs, ref = build_queries(feeds, held, queries, seed, identifiers)
    server = _serve(env, workdir)
    try:
        cookie = _login(server.base, _account(url, workdir / "var"))
        figures["server_processes"] = _server_processes(server.log)
        _, mark = _server_durations(server.log, 0)
        runs: dict[str, Any] = {}
        accuracy: dict[str, Any] | None = None
        for n in clients:
            batch = qs * (repeat if n > 1 else 1)
            cpu_before, db_before = _cpu_seconds(server.proc.pid), _database_cpu_seconds(url)
            lat, res, elapsed = asyncio.run(_drive(server.base, cookie, batch, n))
            cpu_after, db_after = _cpu_seconds(server.proc.pid), _database_cpu_seconds(url)
            at_server, mark = _server_durations(server.log, mark)
            runs[f"clients_{n}"] = {
                "client_ms": _percentiles(lat), "server_ms": _percentiles(at_server),
                "searches_per_second": round(len(batch) / elapsed, 1),
                "server_cpu_ms_per_search": _per_search_ms(cpu_before, cpu_after, len(batch)),
                "database_cpu_ms_per_search": _per_search_ms(db_before, db_after, len(batch)),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
            if accuracy is None:
                accuracy = _accuracy(qs, res[:len(qs)], expected, person_of, ref)
        figures["accuracy"] = accuracy
        figures["latency"] = runs
    finally:
        server.proc.terminate()
        server.proc.wait(timeout=30)
    return figures
