"""Sidecar manifests (``<file>.manifest.json``) and the resolved metadata of one extract."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from contactpoint.errors import FeedRefused

_SOURCE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EXTRACT_TYPES = ("full", "delta")


@dataclass(frozen=True)
class Manifest:
    source: str | None
    extract_date: date | None
    extract_type: str | None


@dataclass(frozen=True)
class ExtractMeta:
    """What an import needs to know about one file before it lands."""

    source: str
    extract_date: date
    extract_type: str


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def is_manifest(path: Path) -> bool:
    return path.name.endswith(".manifest.json")


def check_source_code(code: str, where: str) -> str:
    if not _SOURCE_CODE.match(code):
        raise FeedRefused(
            f"{where}: source code {code!r} is not valid (letters, digits, '-', '_', '.'; "
            "at most 64 characters)"
        )
    return code


def parse_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FeedRefused(f"{where}: extract_date {value!r} is not a YYYY-MM-DD date") from None


def load_manifest(path: Path, *, required: bool) -> Manifest | None:
    """The manifest beside ``path``; ``None`` when absent and not required."""
    mpath = manifest_path(path)
    if not mpath.is_file():
        if required:
            raise FeedRefused(
                f"{path.name}: no manifest: a CSV feed needs {mpath.name} beside it "
                '({"source": ..., "extract_date": "YYYY-MM-DD", "extract_type": "full"|"delta"})'
            )
        return None
    where = mpath.name
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedRefused(f"{where}: not a valid JSON manifest ({exc})") from None
    if not isinstance(data, dict):
        raise FeedRefused(f"{where}: a manifest is a JSON object")
    source = data.get("source")
    raw_date = data.get("extract_date")
    extract_type = data.get("extract_type")
    missing = [k for k in ("source", "extract_date", "extract_type") if not data.get(k)]
    if required and missing:
        raise FeedRefused(f"{where}: manifest lacks {', '.join(missing)}")
    if source is not None and not isinstance(source, str):
        raise FeedRefused(f"{where}: source must be a string")
    if extract_type is not None and extract_type not in EXTRACT_TYPES:
        raise FeedRefused(f"{where}: extract_type must be 'full' or 'delta', not {extract_type!r}")
    if raw_date is not None and not isinstance(raw_date, str):
        raise FeedRefused(f"{where}: extract_date must be a YYYY-MM-DD string")
    return Manifest(
        source=check_source_code(source, where) if source else None,
        extract_date=parse_date(raw_date, where) if raw_date else None,
        extract_type=extract_type,
    )
