"""Import summaries: one JSON file per run, beside the reject reports."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from contactpoint.ingest.service import FileResult


def result_dict(result: FileResult) -> dict[str, Any]:
    data = asdict(result)
    data["path"] = str(result.path)
    data["reject_report"] = str(result.reject_report) if result.reject_report else None
    data["extract_date"] = result.extract_date.isoformat() if result.extract_date else None
    data["seconds"] = round(result.seconds, 3)
    data["rows_per_second"] = round(result.rows_per_second)
    return data


def write_summary(directory: Path, results: list[FileResult], notes: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "summary.json"
    payload = {"files": [result_dict(r) for r in results], "notes": notes}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path
