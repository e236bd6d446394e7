"""Shields set by the council survive re-imports, re-links, merges and unmerges: the March 2009
failure (national feeds re-creating shielded children as unshielded records) cannot happen."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from contactpoint.access.models import Principal
from contactpoint.access.permissions import Role, permissions_for
from contactpoint.access.testing import FakeClock, make_org, make_service, make_user
from contactpoint.council import shields
from contactpoint.council.tables import child_shield
from contactpoint.db.engine import make_engine
from contactpoint.db.tables import child, source_record
from contactpoint.ingest.service import ImportOptions, import_file
from contactpoint.linking import history, service
from integration.test_link_service import StandIn
from links import child_of

COLUMNS = ["source_record_id", "given_name", "family_name", "date_of_birth", "postcode", "town"]
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def feed(path: Path, source: str, on: str, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    path.with_name(path.name + ".manifest.json").write_text(
        f'{{"source": "{source}", "extract_date": "{on}", "extract_type": "full"}}\n')
    return path


def amy(srid: str, postcode: str = "NW1 2AB", given: str = "Amy") -> dict[str, str]:
    return {"source_record_id": srid, "given_name": given, "family_name": "Stone",
            "date_of_birth": "2015-03-01", "postcode": postcode, "town": "London"}


def council_team(engine: Engine, la: str) -> Principal:
    with engine.begin() as conn:
        s = make_service(conn, FakeClock())
        account = make_user(s, make_org(s, la_code=la), Role.COUNCIL_TEAM)
        user = s.user(account.username)
    return Principal("user", user.id, user.username, user.organisation, user.role,
                     permissions_for(user.role))


def load(engine: Engine, path: Path, tmp: Path) -> None:
    result = import_file(engine, path, ImportOptions(report_dir=tmp))
    assert result.status == "landed", result
    with engine.begin() as conn:
        service.link(conn, StandIn(), workdir=tmp, now=NOW)


def test_a_shield_survives_a_reimport_of_the_same_child_from_an_unshielded_feed(
    fresh_db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_db_url)
    try:
        load(engine, feed(tmp_path / "csc.csv", "LA-CSC-202", "2026-11-01", [amy("C1")]),
             tmp_path)
        team = council_team(engine, "202")
        with engine.begin() as conn:
            (key,) = conn.execute(select(source_record.c.id)).scalars()
            ck = child_of(conn, key)
            assert ck is not None
            cid = history.child_by_key(conn, ck).child_id
            shields.set_shield(conn, cid, team, reason="refuge", review_on=date(2027, 5, 1),
                               now=NOW)
        # the census sends her (unshielded feed), then sends her again, moved house
        load(engine, feed(tmp_path / "census1.csv", "DFE-CENSUS", "2026-11-02",
                          [amy("A202000000011")]), tmp_path)
        load(engine, feed(tmp_path / "census2.csv", "DFE-CENSUS", "2026-11-03",
                          [amy("A202000000011", postcode="NW2 1AA")]), tmp_path)
        # a near-match from yet another feed is held for a human, never a new child
        load(engine, feed(tmp_path / "chb.csv", "HMRC-CHB", "2026-11-04",
                          [amy("CHB9", given="Aimee")]), tmp_path)
        with engine.connect() as conn:
            keys = list(conn.execute(select(source_record.c.id, source_record.c.source_code)))
            linked = {code: child_of(conn, k) for k, code in keys}
            assert linked["DFE-CENSUS"] == linked["LA-CSC-202"] == ck
            assert linked["HMRC-CHB"] is None  # held, not created
            assert conn.execute(select(func.count()).select_from(child)).scalar() == 1
            assert conn.execute(select(child.c.shielded).where(child.c.id == ck)).scalar()
            (active,) = conn.execute(select(child_shield.c.status).where(
                child_shield.c.child_key == ck)).scalars()
            assert active == "active"
    finally:
        engine.dispose()


def test_shield_records_follow_merges_and_unmerges(fresh_db_url: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_db_url)
    try:
        load(engine, feed(tmp_path / "csc.csv", "LA-CSC-202", "2026-11-01",
                          [amy("C1"), amy("C2", given="Aimee")]), tmp_path)
        team = council_team(engine, "202")
        with engine.begin() as conn:
            a, b = conn.execute(select(source_record.c.id).order_by(source_record.c.id)).scalars()
            ca, cb = child_of(conn, a), child_of(conn, b)
            assert ca is not None
            assert cb is not None
            assert ca != cb
            shields.set_shield(conn, history.child_by_key(conn, cb).child_id, team,
                               reason="witness protection", review_on=date(2027, 1, 1), now=NOW)
            survivor = history.merge(conn, ca, cb, actor="test", now=NOW)
            assert survivor.key == ca
            assert survivor.shielded
            reviews = shields.reviews(conn, "202", NOW.date(), notice_days=60)
            assert [r.child_id for r in reviews] == [survivor.child_id]  # once, on the survivor
            split = history.unmerge(conn, ca, [b], actor="test", now=NOW + timedelta(hours=1))
            assert split.key == cb
            for key in (ca, cb):
                row = history.child_by_key(conn, key)
                assert row.shielded
                assert conn.execute(select(func.count()).select_from(child_shield).where(
                    child_shield.c.child_key == key,
                    child_shield.c.status == "active")).scalar() == 1
    finally:
        engine.dispose()


def test_stored_values_are_checked_by_the_database(connection: object) -> None:
    """The enums' CHECK constraints refuse a value the code does not know."""
    import pytest
    from sqlalchemy import Connection, insert
    from sqlalchemy.exc import IntegrityError

    from contactpoint.council.tables import user_grant
    from contactpoint.db.tables import child as child_table

    assert isinstance(connection, Connection)
    key = connection.execute(insert(child_table).values(
        child_id="0000000019", created_at=NOW, updated_at=NOW).returning(child_table.c.id)
    ).scalar_one()
    nested = connection.begin_nested()
    with pytest.raises(IntegrityError, match="status"):
        connection.execute(insert(child_shield).values(
            child_key=key, status="paused", la_code="202", reason="r", review_on=date(2027, 1, 1),
            set_by="x", set_at=NOW))
    nested.rollback()
    nested = connection.begin_nested()
    with pytest.raises(IntegrityError, match="permission"):  # the CHECK, not the foreign key
        connection.execute(insert(user_grant).values(
            user_id=1, permission="admin:org:manage", reason="r", granted_by="x",
            granted_at=NOW))
    nested.rollback()
