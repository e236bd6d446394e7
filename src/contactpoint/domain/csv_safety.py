"""CSV files people open in spreadsheets: no formula injection, readable by the owner only.

A cell starting with ``= + - @``, a tab or a carriage return is read as a formula by Excel,
LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``+cmd|…``). Such a cell is written with a
leading apostrophe, as OWASP's "CSV Injection" guidance advises; every CSV the project
writes (reject reports, ``export links``) goes through :func:`safe_row`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PRIVATE_FILE_MODE = 0o600


def safe_cell(value: object) -> object:
    """``value`` unchanged, unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in row]


def open_private(path: Path) -> IO[str]:
    """Open ``path`` for writing as a new text file readable by its owner only (0600); an
    existing file is truncated and its mode tightened."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")
