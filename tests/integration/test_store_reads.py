"""Bulk reads (``store.query_frame``): a ``COPY`` read a piece at a time reads every row as one
read would, whatever falls on a piece's edge (line breaks and quotes inside fields)."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Connection

from contactpoint.linking import store

AWKWARD = ['plain', 'two\nlines', 'say "hi"', '"\n"', '', ',', 'end\r\nof "line"\n', None]


@pytest.mark.parametrize(("text", "end"), [
    (b"", 0), (b"a,b", 0), (b"a,b\n", 4), (b"a,b\nc", 4), (b'1,"x\ny"\n2,', 8),
    (b'1,"x\ny', 0), (b'1,"say ""a""\n"\n', 15), (b'1,"a\n""\nb"\n2,"c\n', 11),
])
def test_whole_rows_end_at_a_break_outside_quotes(text: bytes, end: int) -> None:
    assert store.whole_rows_end(text) == end
    assert store.whole_rows_end(bytearray(text)) == end


def test_a_read_in_pieces_equals_a_read_at_once(
    connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = pl.DataFrame({"k": range(3000), "t": [AWKWARD[i % len(AWKWARD)] for i in range(3000)],
                         "b": [i % 3 == 0 for i in range(3000)]},
                        schema={"k": pl.Int64(), "t": pl.Utf8(), "b": pl.Boolean()})
    store.load_temp(connection, "tmp_awkward", rows)
    sql = "SELECT k, t, b FROM tmp_awkward ORDER BY k"
    schema = dict(rows.schema)
    finished: list[int] = []

    def finish(part: pl.DataFrame) -> pl.DataFrame:
        finished.append(part.height)
        return part.with_columns(pl.col("k") * 2)

    whole = store.query_frame(connection, sql, schema, finish=finish)
    assert len(finished) == 1
    monkeypatch.setattr(store, "PIECE_BYTES", 97)  # a piece every row or two (a COPY message
    # holds whole rows: cuts inside a field are tested on ``whole_rows_end`` above)
    finished.clear()
    pieces = store.query_frame(connection, sql, schema, finish=finish)
    if store.is_postgres(connection):
        assert len(finished) > 50  # read in pieces, each finished on its own
    assert sum(finished) == 3000
    assert pieces.equals(whole)
    # blanks: SQLite keeps '' and PostgreSQL's CSV reads it as null, as in one read
    expected = rows.with_columns(pl.col("k") * 2)
    assert pieces.filter(pl.col("t") != "").equals(expected.filter(pl.col("t") != ""))
    empty = store.query_frame(connection, sql + " LIMIT 0", schema, finish=finish)
    assert empty.height == 0
    assert empty.schema == pl.Schema(schema)
