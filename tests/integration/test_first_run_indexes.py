"""A first run loads links, events and search keys with their secondary indexes dropped and
builds them again after, and its council decisions with their foreign key dropped and added
again after (issue 18): every index and foreign key is there when the run ends."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection, inspect

from contactpoint.council.tables import child_responsibility
from contactpoint.db.tables import record_link
from contactpoint.linking.tables import link_event, search_key
from integration.test_link_service import add_extract, add_record, run
from links import child_of


def _indexes(conn: Connection, table: str) -> set[str]:
    return {str(ix["name"]) for ix in inspect(conn).get_indexes(table)}


def test_a_first_run_leaves_every_index_in_place(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), postcode="NW1 2AB")
    b = add_record(connection, e, "2", "Amy", "Stone", date(2015, 3, 1))
    before = {t.name: _indexes(connection, t.name) for t in (link_event, record_link, search_key)}
    assert all(before.values())
    s = run(connection, tmp_path)
    assert (s.mode, s.records_linked) == ("initial", 2)
    assert child_of(connection, a) == child_of(connection, b) is not None
    after = {t.name: _indexes(connection, t.name) for t in (link_event, record_link, search_key)}
    assert after == before
    declared = {str(ix.name) for t in (link_event, record_link) for ix in t.indexes}
    assert declared <= after["link_event"] | after["record_link"]


def _foreign_keys(conn: Connection, table: str) -> list[tuple[str, str]]:
    return sorted((str(fk["name"]), str(fk["referred_table"]))
                  for fk in inspect(conn).get_foreign_keys(table))


def test_a_first_run_leaves_the_council_decisions_foreign_key_in_place(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    add_record(connection, e, "1", "Amy", "Stone", date(2015, 3, 1), postcode="NW1 2AB")
    before = _foreign_keys(connection, child_responsibility.name)
    assert ("fk_child_responsibility_child_key_child", "child") in before
    s = run(connection, tmp_path)
    assert s.mode == "initial"
    assert s.councils is not None
    assert _foreign_keys(connection, child_responsibility.name) == before
