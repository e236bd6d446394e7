"""The record -> child links and the link queue, for tests that write records directly."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select

from contactpoint.db.tables import link_queue, record_link


def queue(conn: Connection, *record_keys: int) -> None:
    """Put records on the link queue, as the importer does for a new or changed record."""
    conn.execute(delete(link_queue).where(link_queue.c.record_key.in_(record_keys)))
    conn.execute(insert(link_queue), [{"record_key": k} for k in record_keys])


def queued(conn: Connection) -> set[int]:
    return {int(k) for k in conn.execute(select(link_queue.c.record_key)).scalars()}


def child_of(conn: Connection, record_key: int) -> int | None:
    return conn.execute(
        select(record_link.c.child_key).where(record_link.c.record_key == record_key)
    ).scalar()


def links(conn: Connection) -> dict[int, int]:
    """Every linked record's child: ``{record_key: child_key}``."""
    return {int(k): int(c) for k, c in conn.execute(select(record_link))}


def link_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(record_link)).scalar_one())


def link(conn: Connection, child_key: int, *record_keys: int) -> None:
    """Link records to a child directly (as a link run would)."""
    conn.execute(insert(record_link), [{"record_key": k, "child_key": child_key}
                                       for k in record_keys])
