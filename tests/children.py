"""Children with source records, written directly (no link run), for service and API tests."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, select

from contactpoint.db.tables import child, extract, record_link, source, source_record
from contactpoint.linking import store

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
_serial = itertools.count(1)


def add_source(conn: Connection, code: str, *, sensitive: bool = False) -> None:
    if conn.execute(select(source.c.code).where(source.c.code == code)).first() is None:
        conn.execute(insert(source).values(code=code, recognised=True, registered_at=NOW,
                                           sensitive=sensitive))


def add_record(conn: Connection, source_code: str = "NHS-PDS", *,
               involvements: list[dict[str, Any]] | None = None, srid: str | None = None,
               given: str = "Amy", family: str = "Stone",
               dob: date = date(2015, 3, 1)) -> int:
    add_source(conn, source_code)
    n = next(_serial)
    eid = int(conn.execute(insert(extract).values(
        source_code=source_code, file_name="f.csv", content_hash=f"children-{n}-{id(conn)}",
        format="csv", extract_type="delta", extract_date=date(2026, 11, 1), imported_at=NOW,
        rows_read=1, rows_landed=1, rows_rejected=0, rows_retired=0,
    ).returning(extract.c.id)).scalar_one())
    return int(conn.execute(insert(source_record).values(
        source_code=source_code, source_record_id=srid or f"R{n}", record_status="active",
        given_name=given, family_name=family, date_of_birth=dob, carers=[],
        involvements=json.loads(json.dumps(involvements or [])), first_extract_id=eid,
        extract_id=eid, content_hash=f"h{n}", updated_at=NOW,
    ).returning(source_record.c.id)).scalar_one())


def add_child(conn: Connection, *record_keys: int) -> tuple[int, str]:
    """A new child holding ``record_keys`` (one new NHS-PDS record when none): (key, id)."""
    keys = list(record_keys) or [add_record(conn)]
    (key,) = store.create_children(conn, pl.DataFrame(
        {"shielded": [False], "owning_la": [None], "retained_to_25": [False]},
        schema={"shielded": pl.Boolean(), "owning_la": pl.Utf8(),
                "retained_to_25": pl.Boolean()}), NOW)
    conn.execute(insert(record_link), [{"record_key": k, "child_key": key} for k in keys])
    child_id = conn.execute(select(child.c.child_id).where(child.c.id == key)).scalar_one()
    return key, str(child_id)
