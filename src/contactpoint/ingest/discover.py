"""Expand the command line's paths into the feed files to import, in a deterministic order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ijson  # type: ignore[import-untyped]

from contactpoint.ingest.manifest import is_manifest, manifest_path

SKIPPED_NAMES = frozenset({"truth.csv"})


@dataclass(frozen=True)
class Discovery:
    files: list[Path]
    notes: list[str]


def _wanted(path: Path, notes: list[str]) -> bool:
    name = path.name.lower()
    if name in SKIPPED_NAMES:
        notes.append(f"skipped {path}: ground truth, not a feed")
        return False
    if name.endswith(".rejects.csv"):
        notes.append(f"skipped {path}: a reject report")
        return False
    if is_manifest(path):
        return False
    if name.endswith(".csv"):
        if not manifest_path(path).is_file():
            notes.append(f"skipped {path}: CSV without a manifest ({manifest_path(path).name})")
            return False
        return True
    if name.endswith(".json") and not is_fhir_json(path):
        notes.append(f"skipped {path}: JSON without a top-level resourceType (not FHIR)")
        return False
    return name.endswith((".json", ".ndjson", ".xml"))


def is_fhir_json(path: Path) -> bool:
    """Whether a JSON file's top-level object has a ``resourceType`` (streamed, stops early)."""
    try:
        with path.open("rb") as stream:
            for prefix, event, _value in ijson.parse(stream):
                if prefix == "resourceType":
                    return True
                if prefix == "" and event == "end_map":
                    return False
    except ijson.JSONError:
        return True  # let the importer refuse it with the parse error
    return False


def discover(paths: list[Path]) -> Discovery:
    """Files given directly are taken as they are (and refused later if unusable); a
    directory contributes, recursively and sorted by relative path, every ``*.csv`` with a
    manifest and every ``*.json`` (not a manifest, and only FHIR: a top-level
    ``resourceType``), ``*.ndjson`` and ``*.xml``."""
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*") if p.is_file()),
                key=lambda p: p.relative_to(path).as_posix(),
            )
            files.extend(p for p in found if _wanted(p, notes))
        else:
            files.append(path)
    return Discovery(files=files, notes=notes)
