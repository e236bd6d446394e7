"""Hostile XML bounded in time and memory, measured in a fresh subprocess (security.md CI
row 13): wall time of the refusal and the growth of the process's peak RSS (``VmHWM``, reset
through ``/proc/self/clear_refs`` just before parsing), not tracemalloc (which sees only
Python's allocations, not expat's). A local listener proves no external entity is fetched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_SECONDS = 0.5
MAX_RSS_GROWTH_KIB = 5 * 1024  # forbid_dtd stops at <!DOCTYPE: a few KiB at most

LOL = "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
)
PAYLOADS = {
    "billion-laughs": f'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY lol0 "lol">{LOL}]>\n'
                      "<CTfile><Header><SourceSchool><LEA>&lol9;</LEA></SourceSchool></Header>"
                      "</CTfile>\n",
    "quadratic-blowup": '<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY a "'
                        + "x" * 50_000 + '">]>\n<CTfile><Header><SourceSchool><LEA>'
                        + "&a;" * 20_000 + "</LEA></SourceSchool></Header></CTfile>\n",
    "xxe-file": '<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY x SYSTEM "file:///etc/passwd">'
                "]>\n<CTfile><Header><SourceSchool><LEA>&x;</LEA></SourceSchool></Header>"
                "</CTfile>\n",
    "xxe-network": '<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY x SYSTEM "{listener}/x">]>'
                   "\n<CTfile><Header><SourceSchool><LEA>&x;</LEA></SourceSchool></Header>"
                   "</CTfile>\n",
    "external-dtd": '<?xml version="1.0"?>\n<!DOCTYPE CTfile SYSTEM "{listener}/ctf.dtd">\n'
                    "<CTfile><Header/></CTfile>\n",
    "parameter-entity": '<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY % p SYSTEM '
                        '"{listener}/p.dtd"> %p;]>\n<CTfile><Header/></CTfile>\n',
}

PROBE = r"""
import json, sys, time
from pathlib import Path
from contactpoint.errors import FeedRefused
from contactpoint.ingest.ctf_reader import CtfFeed
from contactpoint.ingest.readers import ReaderOptions
from contactpoint.ingest.rejects import RejectSink

path = Path(sys.argv[1])
warm = Path(sys.argv[2])
CtfFeed(warm, ReaderOptions(), lambda _n: None).hints()  # load every lazy import first


def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # KiB
    raise RuntimeError(field)


Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS")
started = time.perf_counter()
outcome = "accepted"
try:
    feed = CtfFeed(path, ReaderOptions(), lambda _n: None)
    feed.hints()
    with RejectSink() as sink:
        for _ in feed.batches(sink):
            pass
except FeedRefused as exc:
    outcome = "refused: " + exc.message
seconds = time.perf_counter() - started
peak = status("VmHWM")  # the highest RSS while parsing
print(json.dumps({"outcome": outcome, "seconds": seconds, "rss_growth_kib": peak - before}))
"""


class _Listener(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Listener.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY x "fetched">')

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture(scope="module")
def listener() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_hostile_xml_is_refused_within_time_and_memory(
    name: str, listener: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_text(PAYLOADS[name].replace("{listener}", listener))
    fixtures = Path(__file__).parents[1] / "fixtures" / "feeds" / "school_4321.xml"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), str(fixtures)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    print(name, measured)
    assert measured["outcome"].startswith("refused"), measured
    assert "root:" not in done.stdout + done.stderr  # no file content anywhere
    assert measured["seconds"] <= MAX_SECONDS, measured
    assert measured["rss_growth_kib"] <= MAX_RSS_GROWTH_KIB, measured
    assert _Listener.hits == [], _Listener.hits
