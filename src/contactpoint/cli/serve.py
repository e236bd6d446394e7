"""``contactpoint serve``: the web UI, JSON and FHIR APIs under uvicorn."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from typing import Annotated

import typer
import uvicorn

from contactpoint.access.config import load_access_settings
from contactpoint.cli import context
from contactpoint.cli.http_protocol import HTTP_PROTOCOL
from contactpoint.errors import ContactPointError

# By name, so the command line does not import the web layer (import-linter: cli | api).
APP_FACTORY = "contactpoint.app:app_from_environment"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's multiprocess mode


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    metrics_port: Annotated[int | None, typer.Option(
        "--metrics-port", min=0, max=65535,
        help="Prometheus /metrics on this port, in its own server (default "
             "CONTACTPOINT_METRICS_PORT; 0 or unset: off).")] = None,
    metrics_host: Annotated[str | None, typer.Option(
        "--metrics-host", help="Address for the metrics server (default "
                               "CONTACTPOINT_METRICS_HOST, else 127.0.0.1).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, max=64,
        help="Server processes (default CONTACTPOINT_SERVE_WORKERS, else one per CPU core "
             "on PostgreSQL and one on SQLite).")] = None,
) -> None:
    """Serve the application. Access log lines are ours (JSON, no query strings)."""
    try:
        access = load_access_settings()  # below the policy's floors: refuse to start
    except ContactPointError as exc:
        context.console.print(exc.message, markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    settings = context.settings()
    metrics_port = settings.metrics_port if metrics_port is None else metrics_port
    metrics_host = metrics_host or settings.metrics_host
    processes = workers or settings.effective_serve_workers
    counted_in: str | None = None
    if metrics_port:
        if metrics_port == port:
            raise typer.BadParameter("--metrics-port must differ from --port")
        if processes > 1:  # the workers count into files the metrics server sums
            counted_in = tempfile.mkdtemp(prefix="contactpoint-metrics-")
            os.environ[MULTIPROC_ENV] = counted_in
        from contactpoint.ops import metrics

        bound = metrics.start_server(settings.effective_database_url, metrics_host, metrics_port,
                                     multiprocess_dir=counted_in)
        context.console.print(f"metrics on http://{metrics_host}:{bound}/metrics")
        if not ipaddress.ip_address(_resolve(metrics_host)).is_loopback:
            context.console.print("[yellow]warning:[/yellow] the metrics server is not on a "
                                  "loopback address: keep it behind a firewall (no sign-in)")
    context.console.print(f"serving on http://{host}:{port} (put TLS in front in production)")
    if not access.public_origin:
        context.console.print(
            "machine-client routes (/oauth/token) are off: set CONTACTPOINT_PUBLIC_ORIGIN"
        )
    # uvicorn's own access log prints the request line with its query string: off.
    # Forwarded headers are believed only from configured proxies (review finding 11): with
    # none, the per-address throttle sees the socket's address, which a client cannot forge.
    proxies = [p.strip() for p in access.trusted_proxies.split(",") if p.strip()]
    # Several processes: one Python process runs one thread at a time (the GIL), so with one
    # process a search's database round trips wait for the other requests' Python (docs/search.md).
    context.console.print(f"{processes} server process(es)")
    try:
        uvicorn.run(
            APP_FACTORY,
            workers=processes,
            # uvicorn kills a worker that does not answer its supervisor's ping in time (SIGKILL,
            # in-flight requests dropped); 5 s is too short for a busy, shared machine.
            timeout_worker_healthcheck=60,
            http=HTTP_PROTOCOL,  # TCP_NODELAY, which uvicorn's own socket for workers lacks
            factory=True,
            host=host,
            port=port,
            access_log=False,
            log_config=None,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    finally:
        if counted_in is not None:
            shutil.rmtree(counted_in, ignore_errors=True)


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return "0.0.0.0"  # noqa: S104  # nosec B104 - unknown: treated as not loopback (a warning)
