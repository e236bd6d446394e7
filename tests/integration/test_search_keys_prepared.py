"""``search_keys.rebuild`` stores the keys the engine prepared (a first run) exactly as it
stores the keys it prepares itself from the records (the oracle)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, select

from contactpoint.linking import search_keys
from contactpoint.linking.tables import search_key
from contactpoint.matching.engine import dedupe, load_model
from contactpoint.matching.frame import conform


def _records() -> pl.DataFrame:
    rows = [
        {"record_key": k, "source_code": src, "given_name": given, "family_name": family,
         "date_of_birth": born, "sex": "F", "postcode": pc, "town": "Leeds",
         "nhs_number": nhs, "upn": upn}
        for k, src, given, family, born, pc, nhs, upn in [
            (1, "NHS-PDS", "Amelia", "Okafor", date(2016, 3, 14), "LS6 2AB", "4000000004", None),
            (2, "DFE-CENSUS", "Amelia Rose", "Okafor-Smith", date(2016, 3, 14), "LS6 2AB", None,
             "A123456789012"),
            (3, "NHS-PDS", "Jo", "Ng", date(2019, 1, 2), None, None, None),
            (4, "LA-CSC-383", "Mohammed", "Ali", date(2012, 7, 30), "BD1 1AA", None, None),
        ]
    ]
    return conform(pl.DataFrame(rows, infer_schema_length=None))


def _stored(conn: Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(select(search_key).order_by(search_key.c.record_key))]


def test_prepared_keys_are_stored_as_the_records_own(
    connection: Connection, tmp_path: Path
) -> None:
    records = _records()
    result = dedupe(records, load_model(), tmp_path)
    assert result.search_keys
    linked = records.with_columns((pl.col("record_key") * 10).alias("child_key"))
    assert search_keys.rebuild(connection, linked) == 4
    own = _stored(connection)
    assert search_keys.rebuild(connection, linked, prepared=result.search_keys) == 4
    assert _stored(connection) == own
    assert {r[1] for r in own} == {10, 20, 30, 40}  # each record's child, from the records
