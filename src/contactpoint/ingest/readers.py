"""The reader interface the import service drives, and the format a path implies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import polars as pl

from contactpoint.errors import FeedRefused
from contactpoint.ingest.rejects import RejectSink

FORMATS = {".csv": "csv", ".json": "fhir", ".ndjson": "fhir", ".xml": "ctf"}


@dataclass(frozen=True)
class Hints:
    """Extract metadata found inside the file itself (Bundle.meta, CTF header)."""

    source: str | None = None
    extract_date: date | None = None
    extract_type: str | None = None


class FeedReader(Protocol):
    format: str
    records: int  # records read so far, rejected ones included

    def hints(self) -> Hints: ...

    def batches(self, sink: RejectSink) -> Iterator[tuple[pl.DataFrame, bool]]:
        """(frame of strings with ``_row``, whether it has the CSV's flat extra columns)."""
        ...

    def finish(self, sink: RejectSink) -> Callable[[int], int] | None:
        """After the last batch: file-level checks; a row-number map for the report, if any."""
        ...


def feed_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FeedRefused(
            f"{path.name}: unknown feed format {path.suffix!r} "
            "(expected .csv with a manifest, .json/.ndjson FHIR, or .xml CTF)"
        )
    return fmt


@dataclass
class ReaderOptions:
    ignore_unknown_columns: bool = False
    max_json_bytes: int = 256 * 1024 * 1024
    max_xml_bytes: int = 512 * 1024 * 1024
    batch_rows: int = 50_000


def make_reader(
    path: Path, options: ReaderOptions, tick: Callable[[int], None]
) -> FeedReader:
    fmt = feed_format(path)
    if fmt == "csv":
        from contactpoint.ingest.csv_feed import CsvFeed

        return CsvFeed(path, options, tick)
    if fmt == "fhir":
        from contactpoint.ingest.fhir_reader import FhirFeed

        return FhirFeed(path, options, tick)
    from contactpoint.ingest.ctf_reader import CtfFeed

    return CtfFeed(path, options, tick)
