"""Machine-readable output: ``--json`` puts exactly one JSON document on standard output.

Progress, notes and warnings always go to standard error (``context.console``), so a script
can read standard output whole and parse it. Help renders at full width when piped.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on standard output (nothing else there)."),
]

PIPED_HELP_WIDTH = 200  # columns for help and tables when standard output is not a terminal


def _default(value: object) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(document: Any) -> str:
    return json.dumps(document, default=_default, ensure_ascii=False, indent=2)


def emit(document: Any) -> None:
    """Write ``document`` as the one JSON document of this command's standard output."""
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def full_width_help_when_piped() -> None:
    """Typer renders help with Rich, at 80 columns when not a terminal: widen it when piped
    (a ``TERMINAL_WIDTH`` the operator set still wins)."""
    import typer.rich_utils as rich_utils

    if rich_utils.MAX_WIDTH is None and not sys.stdout.isatty():
        rich_utils.MAX_WIDTH = PIPED_HELP_WIDTH
