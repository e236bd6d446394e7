"""FHIR R4 feeds: a ``.json`` Bundle (batch, transaction, collection) or ``.ndjson`` (Bulk Data).

Streaming in bounded memory: Bundles are read entry by entry with ``ijson``; NDJSON line by
line. Resources may come in any order (a RelatedPerson before its Patient, an EpisodeOfCare
at the end of the file): every accepted resource is parked in a temporary on-disk SQLite
store, grouped by patient reference, and each Patient is then assembled with its carers and
involvements. Each resource is validated through its ``fhir.resources.R4B`` model; a resource
of another type (e.g. Observation) or one that fails validation is a reject naming its line
(NDJSON) or entry number (Bundle).

Validation and mapping dominate the time: NDJSON of ``PARALLEL_MIN_LINES`` lines or more is
sent in chunks to worker processes (:mod:`contactpoint.ingest.fhir_workers`, the same code
as the serial path); this thread alone writes the park store and the reject sink, in line
order, so both paths give the same parked contributions and the same rejects.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from itertools import chain, islice
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]
import polars as pl

from contactpoint.errors import FeedRefused
from contactpoint.ingest import fhir_workers
from contactpoint.ingest.columns import IDENTITY_COLUMNS, ROW
from contactpoint.ingest.fhir_workers import (
    Outcome,
    PatientPart,
    Rejected,
    line_outcome,
    resource_outcome,
)
from contactpoint.ingest.readers import Hints, ReaderOptions
from contactpoint.ingest.rejects import RejectSink

BUNDLE_TYPES = ("batch", "transaction", "collection")
# NDJSON of at least this many lines is validated by worker processes (smaller files do not
# repay the pool's start-up: with the fast shape check, ~60 µs a line serially, a daily
# delta's 15,000 lines take ~1 s alone against ~1.5 s through a pool); chunks of this many
# lines go to the workers.
PARALLEL_MIN_LINES = 50_000
CHUNK_LINES = 500
PARK_SCHEMA = (
    "CREATE TABLE patient (row INTEGER PRIMARY KEY, json TEXT, full_url TEXT);"
    "CREATE TABLE patient_key (ref TEXT, row INTEGER);"
    "CREATE TABLE attached (row INTEGER, type TEXT, ref TEXT, json TEXT);"
)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def source_from_uri(value: str | None) -> str | None:
    """``Bundle.meta.source`` as a source code: the code itself, or a URI's last segment."""
    if not value:
        return None
    if _CODE.match(value):
        return value
    tail = re.split(r"[/#:]", value.rstrip("/"))[-1]
    return tail if _CODE.match(tail) else None


class FhirFeed:
    """A FHIR feed reader; ``workers`` (default ``CONTACTPOINT_INGEST_WORKERS``, else 2),
    ``parallel_min_lines`` and ``chunk_lines`` (defaults below) steer the NDJSON worker pool."""

    format = "fhir"

    def __init__(
        self, path: Path, options: ReaderOptions, tick: Callable[[int], None], *,
        workers: int | None = None, parallel_min_lines: int | None = None,
        chunk_lines: int | None = None,
    ) -> None:
        self.path = path
        self.options = options
        self.tick = tick
        self.records = 0
        self.ndjson = path.suffix.lower() == ".ndjson"
        self.workers = fhir_workers.worker_count() if workers is None else workers
        self.parallel_min_lines = (
            PARALLEL_MIN_LINES if parallel_min_lines is None else parallel_min_lines
        )
        self.chunk_lines = max(1, CHUNK_LINES if chunk_lines is None else chunk_lines)
        self._hints: Hints | None = None

    # --- metadata -----------------------------------------------------------------------
    def hints(self) -> Hints:
        if self._hints is not None:
            return self._hints
        if self.ndjson:
            self._hints = Hints()
            return self._hints
        resource_type = bundle_type = meta_source = stamp = None
        with self.path.open("rb") as stream:
            try:
                for prefix, event, value in ijson.parse(stream, use_float=True):
                    if prefix == "resourceType":
                        resource_type = value
                    elif prefix == "type":
                        bundle_type = value
                    elif prefix == "meta.source":
                        meta_source = value
                    elif prefix in ("timestamp", "meta.lastUpdated") and stamp is None:
                        stamp = value
                    elif prefix == "entry" and event == "start_array" and resource_type:
                        break
            except ijson.JSONError as exc:
                raise FeedRefused(f"{self.path.name}: not valid JSON ({exc})") from None
        if resource_type != "Bundle":
            raise FeedRefused(
                f"{self.path.name}: a .json feed must be a FHIR Bundle, not {resource_type!r} "
                "(use .ndjson for one resource per line)"
            )
        if bundle_type not in BUNDLE_TYPES:
            raise FeedRefused(
                f"{self.path.name}: Bundle.type {bundle_type!r} is not one of "
                f"{', '.join(BUNDLE_TYPES)}"
            )
        extract_date = None
        if isinstance(stamp, str):
            try:
                extract_date = date.fromisoformat(stamp[:10])
            except ValueError:
                extract_date = None
        self._hints = Hints(source=source_from_uri(meta_source), extract_date=extract_date)
        return self._hints

    # --- reading ------------------------------------------------------------------------
    def _entries(self, sink: RejectSink) -> Iterator[tuple[int, dict[str, Any], str | None]]:
        """A Bundle's (entry number, resource dict, fullUrl)."""
        size = self.path.stat().st_size
        if size > self.options.max_json_bytes:
            raise FeedRefused(
                f"{self.path.name}: a Bundle of {size} bytes is over the cap of "
                f"{self.options.max_json_bytes}; send NDJSON (Bulk Data) instead"
            )
        with self.path.open("rb") as stream:
            try:
                for number, entry in enumerate(
                    ijson.items(stream, "entry.item", use_float=True), start=1
                ):
                    self.records += 1
                    resource = entry.get("resource") if isinstance(entry, dict) else None
                    if not isinstance(resource, dict):
                        sink.add(number, "entry.resource", None, "entry has no resource")
                        continue
                    yield number, resource, entry.get("fullUrl")
            except ijson.JSONError as exc:
                raise FeedRefused(
                    f"{self.path.name}: entry {self.records}: not valid JSON ({exc}); "
                    "the file may be truncated"
                ) from None
        self.tick(size)

    def _park(self, store: sqlite3.Connection, sink: RejectSink) -> None:
        if not self.ndjson:
            for number, data, full_url in self._entries(sink):
                _keep(store, sink, number, resource_outcome(data, full_url))
            return
        with self.path.open("rb") as stream:
            lines: Iterable[bytes] = stream
            if self.workers > 1:  # parallel when the file has at least parallel_min_lines
                need = max(1, self.parallel_min_lines)
                head = list(islice(stream, need))
                if len(head) == need:
                    self._park_parallel(store, sink, chain(head, stream))
                    return
                lines = head
            for number, line in enumerate(lines, start=1):
                self.tick(len(line))
                outcome = line_outcome(line)
                if outcome is None:
                    continue
                self.records += 1
                _keep(store, sink, number, outcome)

    def _park_parallel(
        self, store: sqlite3.Connection, sink: RejectSink, lines: Iterator[bytes]
    ) -> None:
        """NDJSON lines validated and mapped by worker processes, kept here in file order."""
        pool = fhir_workers.open_pool(self.workers)
        try:
            for size, outcomes in fhir_workers.ordered_chunks(
                pool, lines, self.chunk_lines, in_flight=2 * self.workers
            ):
                for number, outcome in outcomes:
                    _keep(store, sink, number, outcome)
                self.records += len(outcomes)
                self.tick(size)
        except BrokenProcessPool as exc:
            raise FeedRefused(
                f"{self.path.name}: a validation worker process died ({exc}); "
                "nothing from this file was stored"
            ) from exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def batches(self, sink: RejectSink) -> Iterator[tuple[pl.DataFrame, bool]]:
        self.hints()
        with tempfile.TemporaryDirectory(prefix="cp-fhir-") as tmp:
            store = sqlite3.connect(Path(tmp) / "group.sqlite3")
            try:
                store.executescript(PARK_SCHEMA)
                self._park(store, sink)
                store.executescript(
                    "CREATE INDEX ix_key ON patient_key (ref);"
                    "CREATE INDEX ix_key_row ON patient_key (row);"
                    "CREATE INDEX ix_att ON attached (ref);"
                )
                self._orphans(store, sink)
                yield from self._assemble(store, sink)
            finally:
                store.close()

    def finish(self, sink: RejectSink) -> Callable[[int], int] | None:
        return None  # line and entry numbers are exact

    def _orphans(self, store: sqlite3.Connection, sink: RejectSink) -> None:
        for number, rtype, ref in store.execute(
            "SELECT a.row, a.type, a.ref FROM attached a WHERE NOT EXISTS"
            " (SELECT 1 FROM patient_key k WHERE k.ref = a.ref) ORDER BY a.row"
        ):
            sink.add(number, f"{rtype}.patient", ref,
                     "refers to a Patient that is not in this file")

    def _assemble(
        self, store: sqlite3.Connection, sink: RejectSink
    ) -> Iterator[tuple[pl.DataFrame, bool]]:
        rows: list[dict[str, Any]] = []
        reader = store.cursor()
        query = "SELECT row, json FROM patient ORDER BY row"
        for number, raw in reader.execute(query):
            part = json.loads(raw)
            fields: dict[str, Any] = dict(part["fields"])
            involvements: list[dict[str, Any]] = list(part["involvements"])
            carers = []
            for (a_raw,) in store.execute(
                "SELECT a.json FROM attached a JOIN patient_key k ON k.ref = a.ref"
                " WHERE k.row = ? ORDER BY a.row", (number,)
            ):
                attached = json.loads(a_raw)
                if "carer" in attached:
                    carers.append(attached["carer"])
                else:
                    involvements.append(attached["involvement"])
            fields[ROW] = number
            fields["carers"] = json.dumps(carers, separators=(",", ":"), ensure_ascii=False)
            fields["involvements"] = json.dumps(
                involvements, separators=(",", ":"), ensure_ascii=False
            )
            rows.append(fields)
            if len(rows) >= self.options.batch_rows:
                yield _frame(rows), False
                rows = []
        if rows:
            yield _frame(rows), False


def _keep(store: sqlite3.Connection, sink: RejectSink, number: int, outcome: Outcome) -> None:
    """Park a mapped resource's contribution by patient key, or write its reject line."""
    if isinstance(outcome, Rejected):
        sink.add(number, outcome.column, outcome.value, outcome.reason)
    elif isinstance(outcome, PatientPart):
        store.execute("INSERT INTO patient VALUES (?, ?, ?)",
                      (number, outcome.part, outcome.full_url))
        store.executemany("INSERT INTO patient_key VALUES (?, ?)",
                          [(k, number) for k in outcome.keys])
    else:
        store.execute("INSERT INTO attached VALUES (?, ?, ?, ?)",
                      (number, outcome.rtype, outcome.ref, outcome.part))


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {ROW: pl.Int64, **dict.fromkeys(IDENTITY_COLUMNS, pl.String),
              "carers": pl.String, "involvements": pl.String}
    return pl.DataFrame(
        [{k: r.get(k) for k in schema} for r in rows], schema=schema
    )
