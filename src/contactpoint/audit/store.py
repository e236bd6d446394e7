"""Reading the audit tables for verification: raw rows, streamed in sequence order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from contactpoint.audit.tables import audit_checkpoint, audit_head

# Raw driver values (no type processing), so that whatever is stored is what gets checked.
_ROWS_SQL = (
    "SELECT seq, at, action, actor, organisation, reason, request_id, subject, details, "
    "prev_hash, entry_hash FROM audit_event WHERE seq > {p}{upto} ORDER BY seq"
)


def stream_rows(
    conn: Connection, *, after: int = 0, upto: int | None = None, batch: int = 20_000
) -> Iterator[Sequence[Any]]:
    """Stored rows with ``after < seq [<= upto]``, in order, as plain driver tuples.

    Reads through the driver's cursor (a server-side cursor on PostgreSQL, fetched ``batch``
    rows at a time), inside ``conn``'s transaction: memory stays flat however long the log is,
    and no per-row ORM/Core processing slows a million-row walk.
    """
    placeholder = "%s" if conn.dialect.name == "postgresql" else "?"
    bounded = upto is not None
    sql = _ROWS_SQL.format(p=placeholder, upto=f" AND seq <= {placeholder}" if bounded else "")
    params: tuple[int, ...] = (after, upto) if upto is not None else (after,)
    conn.exec_driver_sql("SELECT 1")  # make sure conn's transaction has begun
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("no driver connection")
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"audit_rows_{id(conn):x}")
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            yield from rows
    finally:
        cursor.close()


def head_row(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(select(audit_head.c.seq, audit_head.c.head_hash)).one_or_none()
    return None if row is None else (int(row.seq), str(row.head_hash))


def checkpoint_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.tree_size)))


def checkpoint_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_checkpoint)).scalar_one())


def latest_checkpoint_row(conn: Connection) -> Any | None:
    return conn.execute(
        select(audit_checkpoint).order_by(audit_checkpoint.c.tree_size.desc()).limit(1)
    ).one_or_none()
