"""A large first run builds its search keys beside itself (``search_keys.rebuilt_after``, issue
18): on a connection of its own, then swapped in for ``search_key`` in the run's transaction.
The table that results is the one the run's own transaction would have written (rows, indexes,
privileges); a run that fails, or a build that fails, leaves ``search_key`` as it was and no
table behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Connection, Engine, select

from contactpoint.db.engine import make_engine
from contactpoint.linking import search_keys
from contactpoint.linking.tables import search_key
from contactpoint.matching.engine import dedupe, load_model
from contactpoint.matching.frame import conform


@pytest.fixture
def pg(backend: str, fresh_db_url: str) -> Iterator[Engine]:
    if backend != "postgresql":
        pytest.skip("the keys are built beside a run on PostgreSQL only")
    engine = make_engine(fresh_db_url)
    yield engine
    engine.dispose()


def _records() -> pl.DataFrame:
    rows = [
        {"record_key": k, "source_code": "NHS-PDS", "given_name": given, "family_name": family,
         "date_of_birth": born, "sex": "F", "postcode": pc, "town": "Leeds",
         "nhs_number": nhs, "upn": None}
        for k, given, family, born, pc, nhs in [
            (1, "Amelia", "Okafor", date(2016, 3, 14), "LS6 2AB", "4000000004"),
            (2, "Amelia Rose", "Okafor-Smith", date(2016, 3, 14), "LS6 2AB", None),
            (3, "Jo", "Ng", date(2019, 1, 2), None, None),
        ]
    ]
    return conform(pl.DataFrame(rows, infer_schema_length=None))


def _children(child: int) -> pl.DataFrame:
    return pl.DataFrame({"record_key": [1, 2, 3], "child_key": [child, child, child + 1]})


def _rows(conn: Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(select(search_key).order_by(search_key.c.record_key))]


def _indexes(conn: Connection) -> list[tuple[str, str]]:
    return [(str(n), str(d)) for n, d in conn.exec_driver_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_key' "
        "ORDER BY indexname")]


def _privileges(conn: Connection) -> list[tuple[str, str]]:
    return sorted((str(g), str(p)) for g, p in conn.exec_driver_sql(
        "SELECT a.grantee::regrole::text, a.privilege_type FROM pg_class c "
        "CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.oid = 'search_key'::regclass"))


def _leftover(conn: Connection) -> bool:
    return conn.exec_driver_sql("SELECT to_regclass('search_key_next') IS NOT NULL").scalar_one()


def test_keys_built_beside_equal_the_keys_written_in_the_run(pg: Engine, tmp_path: Path) -> None:
    prepared = dedupe(_records(), load_model(), tmp_path).search_keys
    assert prepared
    with pg.begin() as conn:
        conn.exec_driver_sql("GRANT SELECT ON search_key TO PUBLIC")
        with search_keys.rebuilt_after(conn, _children(10), prepared, beside_from=10**9):
            pass  # written in the run's transaction
        own, indexes, privileges = _rows(conn), _indexes(conn), _privileges(conn)
    assert [r[:2] for r in own] == [(1, 10), (2, 10), (3, 11)]
    assert ("-", "SELECT") in privileges  # PUBLIC
    with pg.begin() as conn:
        with search_keys.rebuilt_after(conn, _children(40), prepared, beside_from=0):
            assert _rows(conn) == own  # the run's transaction still sees the old keys
        beside = _rows(conn)
    assert [r[:2] for r in beside] == [(1, 40), (2, 40), (3, 41)]
    assert [r[2:] for r in beside] == [r[2:] for r in own]
    with pg.connect() as conn:
        assert _rows(conn) == beside
        assert _indexes(conn) == indexes
        assert _privileges(conn) == privileges
        assert not _leftover(conn)


def test_a_run_that_fails_leaves_the_keys_as_they_were(pg: Engine, tmp_path: Path) -> None:
    prepared = dedupe(_records(), load_model(), tmp_path).search_keys
    with pg.begin() as conn, search_keys.rebuilt_after(conn, _children(10), prepared,
                                                         beside_from=10**9):
        pass
    with pg.connect() as conn:
        before, indexes = _rows(conn), _indexes(conn)
    with (pytest.raises(RuntimeError, match="the run failed"), pg.begin() as conn,
          search_keys.rebuilt_after(conn, _children(20), prepared, beside_from=0)):
        raise RuntimeError("the run failed")
    absent = tmp_path / "absent.arrow"
    with (pytest.raises(FileNotFoundError, match=r"absent\.arrow"),  # the build itself fails
          pg.begin() as conn,
          search_keys.rebuilt_after(conn, _children(30), [absent], beside_from=0)):
        pass
    with pg.connect() as conn:
        assert _rows(conn) == before
        assert _indexes(conn) == indexes
        assert not _leftover(conn)
