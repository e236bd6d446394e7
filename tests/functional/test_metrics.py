"""Metrics: a Prometheus endpoint on a server of its own (127.0.0.1 by default), never on the
main application; latency per route template; figures read from the database."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from cli_process import cli_env
from contactpoint.ops import metrics


def _scrape(port: int) -> tuple[str, list[Sample]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
    return body, [s for family in text_string_to_metric_families(body) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert found, (name, labels)
    return float(sum(found))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def test_the_main_app_has_no_metrics_endpoint(client: TestClient) -> None:
    for path in ("/metrics", "/metrics/", "/api/metrics"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "contactpoint_http_request_duration_seconds" not in answer.text


def test_latency_per_route_template_and_database_figures(
    client: TestClient, module_db_url: str
) -> None:
    port = metrics.start_server(module_db_url, "127.0.0.1", 0)
    _, before = _scrape(port)
    failures_before = _value(before, "contactpoint_sign_in_failures_total",
                             reason="authentication_failed")
    assert client.get("/health").status_code == 200
    assert client.get("/api/children/CP0000000001").status_code in (401, 404)
    refused = client.post("/api/auth/login",
                          json={"username": "nobody", "password": "wrong", "otp": "000000"})
    assert refused.status_code == 401

    body, samples = _scrape(port)
    assert _value(samples, "contactpoint_http_request_duration_seconds_count",
                  method="GET", route="/health", status="200") >= 1
    assert _value(samples, "contactpoint_http_request_duration_seconds_count",
                  method="POST", route="/api/auth/login", status="401") >= 1
    assert "CP0000000001" not in body  # raw paths never become labels
    assert _value(samples, "contactpoint_sign_in_failures_total",
                  reason="authentication_failed") >= failures_before + 1
    assert _value(samples, "contactpoint_database_up") == 1
    assert _value(samples, "contactpoint_review_queue_open") == 0
    assert _value(samples, "contactpoint_import_rows_total", outcome="rejected") == 0
    assert _value(samples, "contactpoint_link_run_duration_seconds_count") == 0
    assert _value(samples, "contactpoint_accounts_locked") == 0
    assert _value(samples, "contactpoint_searches_total", outcome="found") >= 0
    assert _value(samples, "contactpoint_child_views_total") >= 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_with_a_metrics_port(fresh_db_url: str, tmp_path: Path) -> None:
    app_port, metrics_port = _free_port(), _free_port()
    env = cli_env(tmp_path / "var", fresh_db_url)
    process = subprocess.Popen(  # the real command, as an operator starts it
        [sys.executable, "-m", "contactpoint", "serve", "--port", str(app_port),
         "--metrics-port", str(metrics_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{app_port}/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.2)
        status, body = _get(f"http://127.0.0.1:{app_port}/metrics")
        assert status == 404
        assert "contactpoint_" not in body
        # a request is observed once its response is sent: allow the server a moment
        wanted = {"method": "GET", "route": metrics.UNMATCHED_ROUTE, "status": "404"}
        for _ in range(50):
            _, samples = _scrape(metrics_port)
            if any(s.name == "contactpoint_http_request_duration_seconds_count"
                   and wanted.items() <= s.labels.items() for s in samples):
                break
            time.sleep(0.1)
        assert _value(samples, "contactpoint_http_request_duration_seconds_count",
                      method="GET", route="/health", status="200") >= 1
        assert _value(samples, "contactpoint_http_request_duration_seconds_count",
                      **wanted) >= 1
        assert _value(samples, "contactpoint_database_up") == 1
    finally:
        process.terminate()
        process.wait(timeout=30)
