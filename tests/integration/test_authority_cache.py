"""Source authority ranks are read once per process: a source's rows are written when it is
registered and never change, so a search's results cost no authority round trip after that."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event

from contactpoint.domain.sources import RecordField
from contactpoint.ingest.registry import ensure_source
from contactpoint.linking.child_records import authority_table


def test_a_source_is_read_once_then_served_from_memory(connection: Connection) -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    ensure_source(connection, "GRO-BIRTHS", now)
    ensure_source(connection, "CHARITY-CACHE-1", now)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", count)
    try:
        first = authority_table(connection, {"GRO-BIRTHS", "CHARITY-CACHE-1"})
        read = len(statements)
        again = authority_table(connection, {"GRO-BIRTHS"})
        assert len(statements) == read == 1  # one statement, then none
        assert again == {"GRO-BIRTHS": first["GRO-BIRTHS"]}
        assert first["GRO-BIRTHS"] == authority_table(connection)["GRO-BIRTHS"]  # the table
        assert all(isinstance(f, RecordField) for f in first["CHARITY-CACHE-1"])
    finally:
        event.remove(connection, "before_cursor_execute", count)
