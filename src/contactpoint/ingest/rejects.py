"""Reject reports: ``row,column,value,reason`` CSV, one line per failed check."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import polars as pl

from contactpoint.domain.csv_safety import open_private, safe_row
from contactpoint.ingest.columns import ROW

REPORT_HEADER = ("row", "column", "value", "reason")


class RejectSink:
    """Collects reject lines in a temporary file (bounded memory) until the report is written."""

    def __init__(self) -> None:
        self._tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            mode="w+", encoding="utf-8", newline="", suffix=".rejects.csv", delete=False
        )
        self._writer = csv.writer(self._tmp)
        self.lines = 0
        self.rows = 0  # distinct rejected records
        self.row_map: Callable[[int], int] | None = None  # provisional -> real row numbers
        self._tail: list[tuple[int, str, str, str]] = []  # lines already in final row numbers

    def add_frame(self, rejects: pl.DataFrame) -> None:
        if rejects.height == 0:
            return
        self.rows += rejects.get_column(ROW).n_unique()
        self.lines += rejects.height
        self._writer.writerows(
            rejects.select(ROW, "column", "value", "reason").fill_null("").iter_rows()
        )

    def add(self, row: int | None, column: str, value: str | None, reason: str) -> None:
        """One reject line for one record (call once per record, then ``add_line`` for more)."""
        self.rows += 1
        self.add_line(row, column, value, reason)

    def add_line(self, row: int | None, column: str, value: str | None, reason: str) -> None:
        self.lines += 1
        self._writer.writerow(("" if row is None else row, column, value or "", reason))

    def add_final(self, row: int, column: str, value: str | None, reason: str) -> None:
        """A reject whose row number needs no mapping (found by an exact second pass)."""
        self.rows += 1
        self.lines += 1
        self._tail.append((row, column, value or "", reason))

    def write_report(self, dest: Path) -> Path:
        """Write the final report (streamed: row checks in file order, then file-level ones)."""
        self._tmp.flush()
        self._tmp.seek(0)
        reader = csv.reader(self._tmp)
        row_map = self.row_map
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open_private(dest) as out:  # 0600: the values are children's data
            writer = csv.writer(out)
            writer.writerow(REPORT_HEADER)
            for row, column, value, reason in reader:
                number: int | str = row
                if row_map is not None and row:
                    number = row_map(int(row))
                writer.writerow(safe_row((number, column, value, reason)))
            writer.writerows(safe_row(line) for line in self._tail)
        return dest

    def close(self) -> None:
        self._tmp.close()
        Path(self._tmp.name).unlink(missing_ok=True)

    def __enter__(self) -> RejectSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
