"""Prometheus metrics, served on a port of their own (``contactpoint serve --metrics-port``),
bound to 127.0.0.1 by default and never mounted on the main application.

Two kinds of figures:

* measured in the web process: request latency per route template (``/api/children/{child_id}``,
  never the raw path: no identifiers in labels, bounded cardinality), searches and child views,
  sign-in failures by reason (a refusal because the account is locked is ``account_locked``);
* read from the database at each scrape, so they cover the batch jobs (``import``, ``link``)
  that run in processes of their own: import rows landed, rejected and retired, link run
  durations, the review queue, accounts locked now, audit entries not yet under a signed
  checkpoint, and whether the database answered at all.

With several server processes (``serve --workers``) each process counts into files of its
own under ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, which ``serve``
turns on before it starts them), and the metrics server sums them at each scrape.

docs/operations.md lists the figures to alert on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, column, func, select, table, text
from sqlalchemy.exc import SQLAlchemyError

from contactpoint.db.base import UTCDateTime, utcnow
from contactpoint.db.engine import make_engine

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: they double the output and nobody alerts on them
REGISTRY = CollectorRegistry()  # the process's own: tests and apps never collide on names
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

UNMATCHED_ROUTE = "unmatched"  # a request no route took (404s): one label, whatever the path

REQUEST_SECONDS = Histogram(
    "contactpoint_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SEARCHES = Counter(
    "contactpoint_searches",
    "Child searches, by outcome: found (one or more results), none, refused (422/403).",
    ["outcome"],
    registry=REGISTRY,
)
CHILD_VIEWS = Counter(
    "contactpoint_child_views", "Child records viewed (each one audited).", registry=REGISTRY
)
SIGN_IN_FAILURES = Counter(
    "contactpoint_sign_in_failures",
    "Refused sign-ins and step-ups, by reason: authentication_failed (password or code), "
    "account_locked (a locked account tried), throttled (too many from one address).",
    ["reason"],
    registry=REGISTRY,
)

for _outcome in ("found", "none", "refused"):  # every series exists from the start (at 0)
    SEARCHES.labels(_outcome)
for _reason in ("authentication_failed", "account_locked", "throttled"):
    SIGN_IN_FAILURES.labels(_reason)

LINK_RUN_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def record_search(results: int | None) -> None:
    """A search answered with ``results`` children (``None``: refused)."""
    outcome = "refused" if results is None else ("found" if results else "none")
    SEARCHES.labels(outcome).inc()


def record_view() -> None:
    CHILD_VIEWS.inc()


def record_sign_in_failure(reason: str) -> None:
    SIGN_IN_FAILURES.labels(reason).inc()


_link_run = table("link_run", column("started_at", UTCDateTime()),
                  column("finished_at", UTCDateTime()))
_extract = table("extract", column("rows_landed"), column("rows_rejected"),
                 column("rows_retired"), column("rows_read"))
_app_user = table("app_user", column("locked_until", UTCDateTime()))
_checkpoint = table("audit_checkpoint", column("tree_size"), column("created_at", UTCDateTime()))


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape (a few small, indexed queries)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("contactpoint_database_up",
                               "1 when the database answered this scrape's queries.")
        try:
            found = list(self._read())
        except SQLAlchemyError:
            up.add_metric([], 0.0)
            return [up]
        up.add_metric([], 1.0)
        return [up, *found]

    def _read(self) -> Iterator[Metric]:
        now = utcnow()
        with self.engine.connect() as conn:
            rows = conn.execute(select(
                func.coalesce(func.sum(_extract.c.rows_read), 0),
                func.coalesce(func.sum(_extract.c.rows_landed), 0),
                func.coalesce(func.sum(_extract.c.rows_rejected), 0),
                func.coalesce(func.sum(_extract.c.rows_retired), 0),
                func.count(),
            )).one()
            runs = conn.execute(select(_link_run.c.started_at, _link_run.c.finished_at)
                                .where(_link_run.c.finished_at.is_not(None))).all()
            open_items = conn.execute(text(
                "SELECT COUNT(*) FROM review_item WHERE status = 'open'")).scalar_one()
            locked = conn.execute(select(func.count()).select_from(_app_user)
                                  .where(_app_user.c.locked_until > now)).scalar_one()
            head = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM audit_event")).scalar_one()
            signed, last_signed = conn.execute(select(
                func.coalesce(func.max(_checkpoint.c.tree_size), 0),
                func.max(_checkpoint.c.created_at))).one()
        imported = CounterMetricFamily(
            "contactpoint_import_rows", "Feed rows imported (all time), by outcome.",
            labels=["outcome"])
        for outcome, value in zip(("read", "landed", "rejected", "retired"), rows[:4],
                                  strict=True):
            imported.add_metric([outcome], float(value))
        yield imported
        yield CounterMetricFamily("contactpoint_import_files", "Feed files landed (all time).",
                                  value=float(rows[4]))
        yield _link_histogram([_seconds(s, f) for s, f in runs])
        last = max((f for _, f in runs), default=None)
        if last is not None:
            yield GaugeMetricFamily(
                "contactpoint_link_run_last_finished_timestamp_seconds",
                "When the last link run finished (Unix time).", value=last.timestamp())
        yield GaugeMetricFamily("contactpoint_review_queue_open",
                                "Review items waiting for a decision.", value=float(open_items))
        yield GaugeMetricFamily("contactpoint_accounts_locked",
                                "Accounts locked now after repeated failed sign-ins.",
                                value=float(locked))
        yield GaugeMetricFamily(
            "contactpoint_audit_entries_unsigned",
            "Audit entries after the last signed checkpoint (protected by database controls "
            "only until the next checkpoint).", value=float(int(head) - int(signed)))
        if last_signed is not None:
            yield GaugeMetricFamily(
                "contactpoint_audit_checkpoint_last_timestamp_seconds",
                "When the last audit checkpoint was signed (Unix time).",
                value=last_signed.timestamp())


def _link_histogram(durations: list[float]) -> HistogramMetricFamily:
    buckets: list[tuple[str, float]] = []
    for bound in LINK_RUN_BUCKETS:
        buckets.append((str(bound), float(sum(1 for d in durations if d <= bound))))
    buckets.append(("+Inf", float(len(durations))))
    family = HistogramMetricFamily(
        "contactpoint_link_run_duration_seconds", "Link runs (all time), by duration.")
    family.add_metric([], buckets, sum_value=sum(durations))
    return family


_database: DatabaseCollector | None = None
_lock = threading.Lock()


def start_server(database_url: str, host: str = "127.0.0.1", port: int = 9464,
                 multiprocess_dir: str | None = None) -> int:
    """Serve ``/metrics`` on ``host:port`` in a background thread; returns the port bound
    (``port=0``: any free one). The database figures come from ``database_url``.
    ``multiprocess_dir``: the requests are counted by other processes, into files there
    (``PROMETHEUS_MULTIPROC_DIR``); serve their sums instead of this process's own figures."""
    global _database
    with _lock:
        if multiprocess_dir is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]  # untyped upstream
            registry.register(DatabaseCollector(make_engine(database_url)))
        else:
            registry = REGISTRY
            if _database is None:
                _database = DatabaseCollector(make_engine(database_url))
                REGISTRY.register(_database)
            else:  # one collector per process: a second server reads the latest URL
                _database.engine = make_engine(database_url)
        server, _thread = start_http_server(port, addr=host, registry=registry)
        return int(server.server_port)
