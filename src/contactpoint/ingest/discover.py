"""Expand the command line's paths into the feed files to import, in a deterministic order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ijson  # type: ignore[import-untyped]

from contactpoint.errors import PathMissing
from contactpoint.ingest.manifest import is_manifest, manifest_path

SKIPPED_NAMES = frozenset({"truth.csv"})
FEED_SUFFIXES = (".csv", ".json", ".ndjson", ".xml")


@dataclass(frozen=True)
class Discovery:
    files: list[Path]
    notes: list[str]


def _not_a_feed(path: Path) -> str | None:
    """Why a file is not a feed at all, whoever named it (a directory or the command line)."""
    name = path.name.lower()
    if name in SKIPPED_NAMES:
        return "ground truth, not a feed"
    if name.endswith(".rejects.csv"):
        return "a reject report"
    if is_manifest(path):
        return "a manifest (read with its CSV)"
    if name.endswith(".json") and not is_fhir_json(path):
        return "JSON without a top-level resourceType (not FHIR)"
    if not name.endswith(FEED_SUFFIXES):
        return f"not a feed ({', '.join(FEED_SUFFIXES)})"
    return None


def _wanted(path: Path, notes: list[str]) -> bool:
    """Whether a file found in a directory is a feed; a note for a skipped one that looks
    like it might be (manifests and other extensions pass silently)."""
    if is_manifest(path) or not path.name.lower().endswith(FEED_SUFFIXES):
        return False
    why = _not_a_feed(path)
    if why is None and path.suffix.lower() == ".csv" and not manifest_path(path).is_file():
        why = f"CSV without a manifest ({manifest_path(path).name})"
    if why is not None:
        notes.append(f"skipped {path}: {why}")
        return False
    return True


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
    """A directory contributes, recursively and sorted by relative path, every ``*.csv`` with
    a manifest and every ``*.json`` (not a manifest, and only FHIR: a top-level
    ``resourceType``), ``*.ndjson`` and ``*.xml``. A file named directly (one by one or by a
    shell glob) is skipped, with a note, for the same reasons as in a directory (the truth
    file, reject reports, manifests, JSON that is not FHIR, other extensions), except that a
    CSV without a manifest is taken: ``--source`` and the other options stand in for it.
    A path that does not exist raises :class:`PathMissing` before anything is read."""
    missing = [path for path in paths if not path.exists()]
    if missing:
        raise PathMissing(f"no such file: {missing[0]}")
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*") if p.is_file()),
                key=lambda p: p.relative_to(path).as_posix(),
            )
            files.extend(p for p in found if _wanted(p, notes))
        elif (why := _not_a_feed(path)) is not None:
            notes.append(f"skipped {path}: {why}")
        else:
            files.append(path)
    return Discovery(files=files, notes=notes)
