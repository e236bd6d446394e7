"""The CSV reader behind the :class:`~contactpoint.ingest.readers.FeedReader` interface."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from contactpoint.ingest.csv_reader import CsvReader, row_mapper
from contactpoint.ingest.readers import Hints, ReaderOptions
from contactpoint.ingest.rejects import RejectSink


class CsvFeed:
    format = "csv"

    def __init__(self, path: Path, options: ReaderOptions, tick: Callable[[int], None]) -> None:
        self._reader = CsvReader(path, options.ignore_unknown_columns, tick)
        self.records = 0

    def hints(self) -> Hints:
        return Hints()

    def batches(self, sink: RejectSink) -> Iterator[tuple[pl.DataFrame, bool]]:
        for frame in self._reader.batches():
            self.records = self._reader.records
            yield frame, True

    def finish(self, sink: RejectSink) -> Callable[[int], int] | None:
        if not self._reader.ragged:
            return None
        found, width = self._reader.ragged_rows()
        for row, fields in found:
            sink.add_final(row, "*", None, f"row has {fields} fields, the header has {width}")
        self.records += len(found)
        return row_mapper([row for row, _ in found])
