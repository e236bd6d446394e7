"""Request latency per route template, for the metrics server (contactpoint.ops.metrics).

The label is the route's template (``/api/children/{child_id}``), never the raw path, so no
identifier reaches the metrics and the number of series stays bounded; a request no route
took is counted under ``unmatched``. The main application never serves ``/metrics``.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contactpoint.ops import metrics


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the application fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or metrics.UNMATCHED_ROUTE
            metrics.observe_request(str(scope["method"]), str(template), status,
                                    time.perf_counter() - started)
