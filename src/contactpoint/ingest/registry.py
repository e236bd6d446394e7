"""Sources and extracts: registration on first sight, idempotency and ordering checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

import polars as pl
from sqlalchemy import Connection, func, insert, select, update

from contactpoint.db.tables import extract, source, source_authority
from contactpoint.domain.sources import default_authority


def find_extract_by_hash(conn: Connection, content_hash: str) -> tuple[str, date] | None:
    row = conn.execute(
        select(extract.c.file_name, extract.c.extract_date).where(
            extract.c.content_hash == content_hash
        )
    ).first()
    return (row.file_name, row.extract_date) if row else None


def last_extract_date(conn: Connection, source_code: str) -> date | None:
    value = conn.execute(
        select(func.max(extract.c.extract_date)).where(extract.c.source_code == source_code)
    ).scalar()
    return value if isinstance(value, date) else None


def ensure_source(conn: Connection, code: str, now: datetime) -> tuple[bool, bool]:
    """Register ``code`` when new: returns (was_new, recognised)."""
    row = conn.execute(select(source.c.recognised).where(source.c.code == code)).first()
    if row is not None:
        return False, bool(row.recognised)
    ranks, recognised = default_authority(code)
    conn.execute(insert(source).values(code=code, recognised=recognised, registered_at=now))
    conn.execute(
        insert(source_authority),
        [{"source_code": code, "field": f.value, "rank": r} for f, r in ranks.items()],
    )
    return True, recognised


# How every reader writes a sensitive-service involvement (compact JSON, validate.py).
SENSITIVE_MARK = '"sensitive":true'
_T = TypeVar("_T")


class SensitiveWatch(Generic[_T]):
    """Wraps a batch encoder and notes whether any good row carries a sensitive-service
    involvement (sexual health, CAMHS, substance misuse, or flagged sensitive)."""

    def __init__(self, encode: Callable[[pl.DataFrame], _T]) -> None:
        self._encode = encode
        self.seen = False

    def __call__(self, frame: pl.DataFrame) -> _T:
        if not self.seen and "involvements" in frame.columns:
            self.seen = bool(
                frame["involvements"].str.contains(SENSITIVE_MARK, literal=True).any())
        return self._encode(frame)


def mark_sensitive(conn: Connection, code: str) -> None:
    """The source provides a sensitive service: outputs that name sources leave its records
    out from now on (never unset: a source that stops sending such records has sent them)."""
    conn.execute(update(source).where(source.c.code == code, source.c.sensitive.is_(False))
                 .values(sensitive=True))


@dataclass(frozen=True)
class ExtractRow:
    source_code: str
    file_name: str
    content_hash: str
    format: str
    extract_type: str
    extract_date: date


def insert_extract(conn: Connection, row: ExtractRow, now: datetime) -> int:
    result = conn.execute(
        insert(extract)
        .values(
            source_code=row.source_code, file_name=row.file_name[-512:],
            content_hash=row.content_hash, format=row.format, extract_type=row.extract_type,
            extract_date=row.extract_date, imported_at=now, rows_read=0, rows_landed=0,
            rows_rejected=0, rows_retired=0,
        )
        .returning(extract.c.id)
    )
    return int(result.scalar_one())


def finish_extract(
    conn: Connection, extract_id: int, *, read: int, landed: int, rejected: int, retired: int
) -> None:
    conn.execute(
        update(extract)
        .where(extract.c.id == extract_id)
        .values(rows_read=read, rows_landed=landed, rows_rejected=rejected, rows_retired=retired)
    )
