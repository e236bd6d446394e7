"""Reading the linkage engine's store of existing records back, for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contactpoint.matching import prepared


def store_rows(workdir: Path) -> list[tuple[Any, ...]]:
    """Every stored record: its prepared columns, its child and whether that child is shielded,
    in record order."""
    with prepared.opened(workdir) as con:
        return con.execute(
            f"SELECT e.*, c.child_key, s.child_key IS NOT NULL FROM {prepared.TABLE} e "
            f"JOIN {prepared.CHILDREN} c USING (unique_id) "
            f"LEFT JOIN {prepared.SHIELDED} s USING (child_key) ORDER BY unique_id"
        ).fetchall()
