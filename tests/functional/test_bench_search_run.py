"""``contactpoint bench search`` end to end on a small population (SQLite): the real serve,
the closed-loop driver, the server's access log and the accuracy figures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from contactpoint.children.bench import run_search_benchmark


def test_the_search_bench_drives_the_server_and_reports_every_figure(tmp_path: Path) -> None:
    # in a thread of its own, as the command runs it: the browser tests leave an event loop
    # running in this one, where the driver's asyncio.run() cannot start another
    with ThreadPoolExecutor(1) as pool:
        figures = pool.submit(
            run_search_benchmark, children=300, seed=11,
            url=f"sqlite:///{tmp_path / 'bench.db'}", workdir=tmp_path, queries=40,
            clients=(1, 4)).result()
    accuracy = figures["accuracy"]
    assert accuracy["present_queries"] == 40
    assert accuracy["top3"] >= 0.9
    assert accuracy["twin_confusions"] == 0
    asked = accuracy["present_queries"] + accuracy["absent_queries"]
    for run in ("clients_1", "clients_4"):
        latency = figures["latency"][run]
        assert latency["client_ms"]["n"] == asked  # every query answered, none lost
        assert latency["server_ms"]["n"] == asked  # and each one seen in the access log
        assert 0 < latency["server_ms"]["p50"] <= latency["client_ms"]["p99"]
        assert latency["searches_per_second"] > 0
        assert latency["database_cpu_ms_per_search"] is None  # SQLite: no database process
