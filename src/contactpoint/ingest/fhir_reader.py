"""FHIR R4 feeds: a ``.json`` Bundle (batch, transaction, collection) or ``.ndjson`` (Bulk Data).

Streaming in bounded memory: Bundles are read entry by entry with ``ijson``; NDJSON line by
line. Resources may come in any order (a RelatedPerson before its Patient, an EpisodeOfCare
at the end of the file): every accepted resource is parked in a temporary on-disk SQLite
store, grouped by patient reference, and each Patient is then assembled with its carers and
involvements. Each resource is validated through its ``fhir.resources.R4B`` model; a resource
of another type (e.g. Observation) or one that fails validation is a reject naming its line
(NDJSON) or entry number (Bundle).
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]
import polars as pl
from pydantic import ValidationError

from contactpoint.errors import FeedRefused
from contactpoint.ingest import fhir_map
from contactpoint.ingest.columns import IDENTITY_COLUMNS, ROW
from contactpoint.ingest.readers import Hints, ReaderOptions
from contactpoint.ingest.rejects import RejectSink

ACCEPTED = ("Patient", "RelatedPerson", "EpisodeOfCare", "CareTeam")
BUNDLE_TYPES = ("batch", "transaction", "collection")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _models() -> dict[str, Any]:
    from fhir.resources.R4B.careteam import CareTeam
    from fhir.resources.R4B.episodeofcare import EpisodeOfCare
    from fhir.resources.R4B.patient import Patient
    from fhir.resources.R4B.relatedperson import RelatedPerson

    return {"Patient": Patient, "RelatedPerson": RelatedPerson,
            "EpisodeOfCare": EpisodeOfCare, "CareTeam": CareTeam}


def source_from_uri(value: str | None) -> str | None:
    """``Bundle.meta.source`` as a source code: the code itself, or a URI's last segment."""
    if not value:
        return None
    if _CODE.match(value):
        return value
    tail = re.split(r"[/#:]", value.rstrip("/"))[-1]
    return tail if _CODE.match(tail) else None


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
    return loc, str(err.get("msg", "invalid"))


class FhirFeed:
    format = "fhir"

    def __init__(self, path: Path, options: ReaderOptions, tick: Callable[[int], None]) -> None:
        self.path = path
        self.options = options
        self.tick = tick
        self.records = 0
        self.ndjson = path.suffix.lower() == ".ndjson"
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
    def _resources(self, sink: RejectSink) -> Iterator[tuple[int, dict[str, Any], str | None]]:
        """(line or entry number, resource dict, Bundle fullUrl)."""
        with self.path.open("rb") as stream:
            if self.ndjson:
                for number, line in enumerate(stream, start=1):
                    self.tick(len(line))
                    if not line.strip():
                        continue
                    self.records += 1
                    try:
                        data = json.loads(line)
                    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                        sink.add(number, "resource", None, f"not valid JSON ({exc})")
                        continue
                    if not isinstance(data, dict):
                        sink.add(number, "resource", None, "not a JSON object")
                        continue
                    yield number, data, None
                return
            size = self.path.stat().st_size
            if size > self.options.max_json_bytes:
                raise FeedRefused(
                    f"{self.path.name}: a Bundle of {size} bytes is over the cap of "
                    f"{self.options.max_json_bytes}; send NDJSON (Bulk Data) instead"
                )
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
        models = _models()
        for number, data, full_url in self._resources(sink):
            rtype = data.get("resourceType")
            if rtype not in ACCEPTED:
                sink.add(number, "resourceType", str(rtype),
                         f"resource type {rtype} is not accepted in a feed "
                         f"(only {', '.join(ACCEPTED)})")
                continue
            try:
                resource = models[rtype].model_validate(data)
            except ValidationError as exc:
                loc, msg = _first_error(exc)
                sink.add(number, f"{rtype}.{loc}" if loc else rtype, None,
                         f"not a valid FHIR R4 {rtype}: {msg}")
                continue
            try:
                self._store(store, number, rtype, resource, full_url)
            except fhir_map.MappingError as exc:
                sink.add(number, exc.path, exc.value, exc.reason)

    @staticmethod
    def _store(
        store: sqlite3.Connection, number: int, rtype: str, resource: Any, full_url: str | None
    ) -> None:
        """Map a validated resource once and park its contribution (JSON) by patient key."""
        if rtype == "Patient":
            fields = fhir_map.patient_fields(resource)
            part = {"fields": fields, "involvements": fhir_map.gp_involvements(resource)}
            keys = [k for k in (full_url, f"Patient/{resource.id}" if resource.id else None) if k]
            store.execute("INSERT INTO patient VALUES (?, ?, ?)",
                          (number, json.dumps(part), full_url))
            store.executemany("INSERT INTO patient_key VALUES (?, ?)",
                              [(k, number) for k in keys])
            return
        if rtype == "RelatedPerson":
            part = {"carer": fhir_map.related_carer(resource)}
        elif rtype == "EpisodeOfCare":
            part = {"involvement": fhir_map.episode_involvement(resource)}
        else:
            part = {"involvement": fhir_map.careteam_involvement(resource)}
        ref = fhir_map.patient_reference(rtype, resource)
        store.execute("INSERT INTO attached VALUES (?, ?, ?, ?)",
                      (number, rtype, ref, json.dumps(part)))

    def batches(self, sink: RejectSink) -> Iterator[tuple[pl.DataFrame, bool]]:
        self.hints()
        with tempfile.TemporaryDirectory(prefix="cp-fhir-") as tmp:
            store = sqlite3.connect(Path(tmp) / "group.sqlite3")
            try:
                store.executescript(
                    "CREATE TABLE patient (row INTEGER PRIMARY KEY, json TEXT, full_url TEXT);"
                    "CREATE TABLE patient_key (ref TEXT, row INTEGER);"
                    "CREATE TABLE attached (row INTEGER, type TEXT, ref TEXT, json TEXT);"
                )
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

def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {ROW: pl.Int64, **dict.fromkeys(IDENTITY_COLUMNS, pl.String),
              "carers": pl.String, "involvements": pl.String}
    return pl.DataFrame(
        [{k: r.get(k) for k in schema} for r in rows], schema=schema
    )
