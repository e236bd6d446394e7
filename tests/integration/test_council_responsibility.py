"""The responsible council derived at each link run, from each kind of evidence, with a
transfer (and an audit entry, and a notice each council sees) when a child moves."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, select, update

from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.council import worklist
from contactpoint.council.tables import child_responsibility, council_transfer
from contactpoint.db.tables import child, source_record
from contactpoint.domain.council import EvidenceKind
from contactpoint.linking import history, responsibility
from integration.test_link_service import NOW, add_extract, add_record, run
from links import child_of, queue

DOB = date(2015, 3, 1)


def owning(conn: Connection, child_key: int) -> str | None:
    return conn.execute(select(child.c.owning_la).where(child.c.id == child_key)).scalar()


def deciding(conn: Connection, child_key: int) -> str | None:
    return conn.execute(select(child_responsibility.c.deciding_kind).where(
        child_responsibility.c.child_key == child_key)).scalar()


def test_each_kind_of_evidence_allocates_a_child(connection: Connection, tmp_path: Path) -> None:
    e_pds = add_extract(connection)
    e_csc = add_extract(connection, "LA-CSC-886")
    e_ctf = add_extract(connection, "CTF-3312001")
    e_cen = add_extract(connection, "DFE-CENSUS")
    feed = add_record(connection, e_csc, "c1", "Ann", "Ash", DOB, source_code="LA-CSC-886",
                      postcode="LS1 4AP")
    home = add_record(connection, e_pds, "p1", "Bea", "Birch", DOB, postcode="NW1 2AB",
                      upn="A330123456789")
    school = add_record(connection, e_ctf, "A331123456789", "Cal", "Cedar", DOB,
                        source_code="CTF-3312001", upn="A331123456789")
    school2 = add_record(connection, e_cen, "x9", "Dee", "Dale", DOB, source_code="DFE-CENSUS",
                         involvements=[{"service_type": "education", "org_code": "9372001"}])
    upn = add_record(connection, e_cen, "A353123456789", "Eve", "Elm", DOB,
                     source_code="DFE-CENSUS", upn="A353123456789",
                     involvements=[{"service_type": "education", "org_code": "123456"}])
    none = add_record(connection, e_pds, "p2", "Fay", "Fir", DOB)
    s = run(connection, tmp_path)
    assert s.councils is not None
    assert (s.councils.children, s.councils.allocated, s.councils.unallocated) == (6, 5, 1)
    expected = {feed: ("886", EvidenceKind.COUNCIL_FEED),
                home: ("202", EvidenceKind.POSTCODE_DISTRICT),
                school: ("331", EvidenceKind.SCHOOL_LAESTAB),
                school2: ("937", EvidenceKind.SCHOOL_LAESTAB), upn: ("353", EvidenceKind.UPN_LA),
                none: (None, None)}
    for record, (la, kind) in expected.items():
        ck = child_of(connection, record)
        assert ck is not None
        assert (owning(connection, ck), deciding(connection, ck)) == (la, kind), record
    ck = child_of(connection, feed)
    assert ck is not None
    kept = responsibility.evidence_of(connection, ck)
    assert kept is not None
    assert [(e.kind, e.la_code, e.source_code) for e in kept.evidence] == [
        (EvidenceKind.COUNCIL_FEED, "886", "LA-CSC-886"),
        (EvidenceKind.POSTCODE_DISTRICT, "383", "LA-CSC-886")]
    assert connection.execute(select(council_transfer)).first() is None  # first allocations


def test_a_move_transfers_responsibility_with_both_notices(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection, on=date(2026, 10, 1))
    a = add_record(connection, e, "1", "Amy", "Stone", DOB, postcode="NW1 2AB")
    run(connection, tmp_path)
    ck = child_of(connection, a)
    assert ck is not None
    assert owning(connection, ck) == "202"
    # the family moves to Kent: the next extract carries the new address
    e2 = add_extract(connection, on=date(2026, 11, 1))
    connection.execute(update(source_record).where(source_record.c.id == a).values(
        postcode="ME1 1AA", extract_id=e2))
    queue(connection, a)
    s = run(connection, tmp_path)
    assert s.councils is not None
    assert s.councils.transfers == 1
    assert owning(connection, ck) == "886"
    (t,) = connection.execute(select(council_transfer)).mappings().all()
    assert (t["child_key"], t["from_la"], t["to_la"]) == (ck, "202", "886")
    evidence = t["evidence"] if isinstance(t["evidence"], list) else json.loads(t["evidence"])
    assert evidence[0]["kind"] == "postcode_district"
    assert evidence[0]["detail"] == "ME1"
    cid = history.child_by_key(connection, ck).child_id
    assert [x.action for x in trail.for_subject(connection, f"child:{cid}")] == [
        AuditAction.RESPONSIBILITY_TRANSFER]
    day = NOW.date()
    outgoing = worklist.transfers(connection, "202", since=day.replace(year=day.year - 1))
    incoming = worklist.transfers(connection, "886", since=day.replace(year=day.year - 1))
    assert [(x["child_id"], x["direction"]) for x in outgoing] == [(cid, "out")]
    assert [(x["child_id"], x["direction"]) for x in incoming] == [(cid, "in")]
    # a run that changes nothing of hers transfers nothing again
    connection.execute(update(source_record).where(source_record.c.id == a).values(town="X"))
    queue(connection, a)
    again = run(connection, tmp_path)
    assert again.councils is not None
    assert again.councils.transfers == 0


def test_no_evidence_never_takes_a_council_away(connection: Connection, tmp_path: Path) -> None:
    e = add_extract(connection)
    a = add_record(connection, e, "1", "Amy", "Stone", DOB, postcode="NW1 2AB")
    run(connection, tmp_path)
    ck = child_of(connection, a)
    assert ck is not None
    connection.execute(update(source_record).where(source_record.c.id == a).values(postcode=None))
    queue(connection, a)
    run(connection, tmp_path)
    assert owning(connection, ck) == "202"
    assert connection.execute(select(council_transfer)).first() is None


def test_work_list_review_items_are_those_touching_the_councils_children(
    connection: Connection, tmp_path: Path
) -> None:
    e = add_extract(connection)
    add_record(connection, e, "1", "Amy", "Stone", DOB, postcode="NW1 2AB")
    add_record(connection, e, "2", "Aimee", "Stone", DOB, postcode="NW1 2AB")
    add_record(connection, e, "3", "Zed", "Young", DOB, postcode="ME1 1AA")
    run(connection, tmp_path)
    camden = worklist.review_items(connection, "202")
    assert len(camden) == 1
    assert camden[0]["cause"] == "clerical_band"
    assert worklist.review_items(connection, "886") == []
