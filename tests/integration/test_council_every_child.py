"""A first run derives every child's council from one streamed read and writes the decisions
once (issue 18, CPU of a from-scratch link): the result is the same as deriving the same
children by key, chunk by chunk (the path a later run takes), kept here as the oracle."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Text, cast, delete, select, update

from contactpoint.council.tables import child_responsibility, council_transfer
from contactpoint.db.tables import child, source_record
from contactpoint.domain.responsibility import Evidence
from contactpoint.linking import responsibility
from integration.test_link_service import NOW, add_extract, add_record, run

DOB = date(2015, 3, 1)
EDU = [{"service_type": "education", "org_code": "9372001"}]


def _population(conn: Connection) -> None:
    """Children with every kind of evidence, several records each, and some with none."""
    older = add_extract(conn, on=date(2026, 9, 1))
    newer = add_extract(conn, on=date(2026, 11, 1))
    csc = add_extract(conn, "LA-CSC-886")
    ctf = add_extract(conn, "CTF-3312001")
    census = add_extract(conn, "DFE-CENSUS")
    retired = add_record(conn, newer, "gone", "Ann", "Ash", DOB, postcode="ME1 1AA")
    conn.execute(update(source_record).where(source_record.c.id == retired)
                 .values(record_status="retired"))
    for i in range(7):
        given, born = f"Kid{i}", date(2014, 1, 1 + i)
        home = "NW1 2AB" if i < 4 else None
        add_record(conn, older, f"o{i}", given, "Ash", born, postcode=home,
                   upn=f"A353{i:08d}A" if i == 6 else None)
        if i in (0, 2):  # a newer address wins
            add_record(conn, newer, f"n{i}", given, "Ash", born, postcode="LS1 4AP")
        if i in (0, 3):  # the council's own feed outranks the address
            add_record(conn, csc, f"c{i}", given, "Ash", born, source_code="LA-CSC-886")
        if i == 4:
            add_record(conn, ctf, f"A331{i:08d}A", given, "Ash", born,
                       source_code="CTF-3312001", upn=f"A331{i:08d}A")
        if i == 5:
            add_record(conn, census, f"e{i}", given, "Ash", born, source_code="DFE-CENSUS",
                       involvements=EDU)
    add_record(conn, older, "none", "Nobody", "Fir", DOB)  # no evidence: national report
    add_record(conn, older, "ann1", "Ann", "Ash", DOB, postcode="NW1 2AB")
    add_record(conn, newer, "ann2", "Ann", "Ash", DOB, postcode="ME1 1AA")  # same child: moved


def _state(conn: Connection) -> tuple[dict[int, Any], dict[int, Any], list[Any]]:
    cr = child_responsibility.c
    rows = {int(k): (la, kind, ev if isinstance(ev, list) else json.loads(ev))
            for k, la, kind, ev in conn.execute(
                select(cr.child_key, cr.la_code, cr.deciding_kind, cr.evidence))}
    owners = {int(k): la for k, la in conn.execute(select(child.c.id, child.c.owning_la))}
    t = council_transfer.c
    moves = [tuple(r) for r in conn.execute(
        select(t.child_key, t.from_la, t.to_la).order_by(t.id))]
    return rows, owners, moves


def _reset(conn: Connection, owner: str | None) -> None:
    conn.execute(delete(child_responsibility))
    conn.execute(delete(council_transfer))
    conn.execute(update(child).values(owning_la=owner))


@pytest.mark.parametrize("chunk", [2, 5000])
def test_every_child_at_once_equals_each_child_by_key(
    connection: Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(responsibility, "CHUNK", chunk)  # chunk edges inside the stream
    _population(connection)
    s = run(connection, tmp_path)  # a first run: every child, streamed
    assert s.councils is not None
    first = _state(connection)
    keys = sorted(first[1])
    assert len(keys) == 9
    assert s.councils.children == 9
    councils = {la for la, _, _ in first[0].values()}
    assert councils == {"886", "202", "383", "353", "331", "937", None}
    cr = child_responsibility.c  # written by the run, at its time (straight in on PostgreSQL)
    assert set(connection.execute(select(cr.run_id, cr.derived_at))) == {(s.run_id, NOW)}

    by_key = [0, 0]
    for n, (owner, wanted) in enumerate(((None, keys), ("999", keys))):
        _reset(connection, owner)
        streamed = responsibility.allocate(connection, None, now=NOW)
        after_stream = _state(connection)
        _reset(connection, owner)
        keyed = responsibility.allocate(connection, wanted, now=NOW)
        after_keys = _state(connection)
        assert streamed == keyed
        assert after_stream == after_keys
        with_evidence = {k: v for k, v in after_stream[0].items() if v[2]}
        assert with_evidence == {k: v for k, v in first[0].items() if v[2]}  # as the link run
        assert len(with_evidence) == 8
        by_key[n] = keyed.transfers
    # from no council: first allocations, no transfer; from another council: every child that
    # has evidence moves (the one with none keeps "999")
    assert by_key == [0, 8]


def _old_evidence_json(evidence: Iterable[Evidence]) -> str:
    """The stored evidence as it was written before ``Evidence.as_json``."""
    return json.dumps([e.as_dict() for e in evidence], separators=(",", ":"))


def _raw_evidence(conn: Connection) -> dict[int, str]:
    cr = child_responsibility.c
    return {int(k): ev for k, ev in conn.execute(
        select(cr.child_key, cast(cr.evidence, Text)))}


def test_the_evidence_is_stored_as_the_dicts_were(
    connection: Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evidence column written from each piece's JSON is what ``json.dumps`` of the dicts
    wrote, byte for byte and parsed, with identifiers a feed may send (quotes, backslashes,
    control characters, non-ASCII)."""
    _population(connection)
    extract_id = add_extract(connection, "LA-CSC-202")
    for n, srid in enumerate(['q"uote', "back\\slash", "tab\there", "é ü 👶", "\x7f", "r"]):
        add_record(connection, extract_id, srid, f"Odd{n}", "Elm", date(2013, 2, 1 + n),
                   source_code="LA-CSC-202", postcode="LS1 4AP",
                   upn=f"A330{n:08d}A", involvements=EDU)
    run(connection, tmp_path)
    new = _state(connection), _raw_evidence(connection)
    _reset(connection, None)
    monkeypatch.setattr(responsibility, "_evidence_json", _old_evidence_json)
    responsibility.allocate(connection, None, now=NOW)
    old = _state(connection), _raw_evidence(connection)
    assert new == old
    assert len(new[1]) == 15
    ids = {e["source_record_id"] for v in new[1].values() for e in json.loads(v)}
    assert ids >= {'q"uote', "back\\slash", "tab\there", "é ü 👶", "\x7f"}
