"""Streaming CSV reader (pyarrow's multithreaded parser, batches of strings -> polars).

RFC 4180 quoting (newlines inside quotes allowed), UTF-8 with optional BOM, header row.
Memory is bounded by the block size. A row with the wrong number of fields is a reject; when
the last record of the file is one, the file is refused as truncated. Invalid UTF-8 refuses
the file with the line and byte offset of the first bad byte.
"""

from __future__ import annotations

import bisect
import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from contactpoint.errors import FeedRefused
from contactpoint.ingest.columns import CSV_COLUMNS, CSV_REQUIRED, ROW

BLOCK_SIZE = 4 << 20  # ~20k rows of a typical feed per batch


def read_header(path: Path) -> list[str]:
    with path.open("rb") as raw:
        first = raw.readline(1 << 20)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedRefused(f"{path.name}: row 1 (header) is not valid UTF-8") from None
    if not text.strip():
        raise FeedRefused(f"{path.name}: the file is empty (no header row)")
    return next(csv.reader([text]))


def check_header(path: Path, header: list[str], *, ignore_unknown: bool) -> list[str]:
    """The contract columns to read; refuses unknown, duplicate or missing required columns."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FeedRefused(f"{path.name}: row 1: column {name!r} appears twice")
        seen.add(name)
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown and not ignore_unknown:
        raise FeedRefused(
            f"{path.name}: row 1: unknown column(s) {', '.join(map(repr, unknown))} "
            "(names are exact; use --ignore-unknown-columns to skip them)"
        )
    missing = [c for c in CSV_REQUIRED if c not in seen]
    if missing:
        raise FeedRefused(f"{path.name}: row 1: missing required column(s) {', '.join(missing)}")
    return [h for h in header if h in CSV_COLUMNS]


@dataclass
class CsvReader:
    path: Path
    ignore_unknown_columns: bool = False
    tick: Callable[[int], None] = lambda _n: None
    records: int = 0  # records parsed with the right number of fields
    ragged: list[str] = field(default_factory=list)

    def batches(self) -> Iterator[pl.DataFrame]:
        header = read_header(self.path)
        columns = check_header(self.path, header, ignore_unknown=self.ignore_unknown_columns)

        def on_invalid(row: Any) -> str:
            self.ragged.append(str(row.text))
            return "skip"

        size = self.path.stat().st_size
        done = 0
        try:
            reader = pacsv.open_csv(
                str(self.path),
                read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=True),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()),
                    include_columns=columns,
                    # an empty field is null from the parser on (cheaper than later)
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                    check_utf8=True,
                ),
            )
            for record_batch in reader:
                step = min(record_batch.nbytes, size - done)  # progress, approximately
                done += step
                self.tick(step)
                frame = pl.from_arrow(record_batch)
                assert isinstance(frame, pl.DataFrame)
                start = self.records + 2
                self.records += frame.height
                yield frame.with_columns(
                    pl.int_range(start, start + frame.height, dtype=pl.Int64).alias(ROW)
                )
        except pa.ArrowInvalid as exc:
            if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
                raise FeedRefused(_utf8_error(self.path)) from None
            raise FeedRefused(f"{self.path.name}: not a readable CSV file ({exc})") from None

    def ragged_rows(self) -> tuple[list[tuple[int, int]], int]:
        """Locate rows with the wrong field count: ([(row, fields)], header fields).

        Only runs (a slower, exact Python pass) when the fast parser skipped some rows.
        Refuses the file when it is truncated (its last record is short, or a quote never
        closes).
        """
        header = read_header(self.path)
        found: list[tuple[int, int]] = []
        last = 1
        with self.path.open(encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text, strict=True)
            try:
                next(reader)
                for number, fields in enumerate(reader, start=2):
                    last = number
                    if len(fields) != len(header):
                        found.append((number, len(fields)))
            except csv.Error as exc:
                raise FeedRefused(
                    f"{self.path.name}: row {last + 1}: the file is truncated or malformed "
                    f"({exc}); nothing from it was stored"
                ) from None
        if found and found[-1][0] == last and found[-1][1] < len(header):
            raise FeedRefused(
                f"{self.path.name}: row {last}: the file is truncated (the last row has "
                f"{found[-1][1]} of {len(header)} fields); nothing from it was stored"
            )
        return found, len(header)


def row_mapper(ragged: list[int]) -> Callable[[int], int]:
    """Map a provisional row number (good records counted from 2) to its real row number."""
    skipped = sorted(ragged)

    def real(provisional: int) -> int:
        k = provisional - 2
        count = 0
        while True:
            candidate = k + 2 + count
            new_count = bisect.bisect_right(skipped, candidate)
            if new_count == count:
                return candidate
            count = new_count

    return real


def _utf8_error(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as raw:
        for line_number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                return (
                    f"{path.name}: line {line_number}: not valid UTF-8 (byte offset "
                    f"{offset + exc.start}); the file must be UTF-8 encoded; nothing from it "
                    "was stored"
                )
            offset += len(line)
    return f"{path.name}: not valid UTF-8; nothing from it was stored"
