"""The responsible council of every live child at once, as frames (a first link run: issue 18).

The same rule as :func:`contactpoint.domain.responsibility.responsible_council` over the same
evidence as :func:`contactpoint.domain.responsibility.evidence_from_record`, the common case
vectorised in polars: one read of every live child's active records (``COPY`` on
PostgreSQL), each kind of evidence by one regular expression over a column, the ranking by one
sort, the votes by a count. What the vectorised form could read differently goes through the
Python rule itself:

* a record with a character outside printable ASCII in a field the rule reads (Python's
  ``strip``, ``upper``, ``\\s``, ``$`` and the JSON escaping differ from polars' there): its
  evidence comes from ``evidence_from_record``;
* education involvements (JSON the rule parses): ``current_education_codes`` reads each
  distinct value once (a few thousand among hundreds of thousands of records);

Called per record in Python this was the larger part of a first run's council step (31 CPU s
of its 44 s at 1 M children). The stored rows are byte-identical to the rule's
(``tests/integration/test_council_every_child.py``, ``tests/unit/test_councils_at_once.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from json.encoder import encode_basestring_ascii as _json_str

import polars as pl
from sqlalchemy import Connection, select

from contactpoint.db.tables import extract
from contactpoint.domain.council import EVIDENCE_RANK, EvidenceKind
from contactpoint.domain.responsibility import (
    district_table,
    evidence_from_record,
    la_from_laestab,
)
from contactpoint.linking import store

# every live child's active records, in no particular order (the ranking sorts)
_RECORDS_SQL = (
    "SELECT rl.child_key, s.source_code, s.source_record_id, s.upn, s.postcode, "
    "CASE WHEN CAST(s.involvements AS TEXT) LIKE '%education%' "
    "THEN CAST(s.involvements AS TEXT) END, s.extract_id "
    "FROM record_link rl JOIN source_record s ON s.id = rl.record_key "
    "JOIN child c ON c.id = rl.child_key "
    "WHERE c.status = 'active' AND s.record_status = 'active'"
)
# what a first run reads of each pending record beside its linkage fields (``store.read_pending``
# ``more``), so that its councils need no second read of every record: :func:`of_clusters`
EVIDENCE_FIELDS: dict[str, tuple[str, pl.DataType]] = {
    "source_record_id": ("s.source_record_id", pl.Utf8()),
    "involvements": ("CASE WHEN CAST(s.involvements AS TEXT) LIKE '%education%' "
                     "THEN CAST(s.involvements AS TEXT) END", pl.Utf8()),
    "extract_id": ("s.extract_id", pl.Int64()),
}
_RECORDS_SCHEMA: dict[str, pl.DataType] = {  # (as _RECORDS_SQL selects them)
    "child_key": pl.Int64(), "source_code": pl.Utf8(), "source_record_id": pl.Utf8(),
    "upn": pl.Utf8(), "postcode": pl.Utf8(), "involvements": pl.Utf8(),
    "extract_id": pl.Int64()}
# the columns :func:`of_clusters` reads of a first run's pending records
PENDING_COLUMNS = ("record_key", *list(_RECORDS_SCHEMA)[1:])

PIECE_SCHEMA: dict[str, pl.DataType] = {
    "child_key": pl.Int64(), "rank": pl.Int64(), "kind": pl.Utf8(), "la_code": pl.Utf8(),
    "source_code": pl.Utf8(), "source_record_id": pl.Utf8(), "observed_on": pl.Date(),
    "detail": pl.Utf8(), "json": pl.Utf8()}
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "child_key": pl.Int64(), "la_code": pl.Utf8(), "deciding_kind": pl.Utf8(),
    "evidence": pl.Utf8()}

_PLAIN = r"^[\x20-\x7e]*$"  # printable ASCII: where both readings agree
_FEED = r"^(?:LA-CSC|YOT)-(\d{3})$"
_CTF = r"^CTF-(\d{7})$"
_OUTWARD = r"^([A-Z]{1,2}\d[A-Z\d]?) *\d[A-Z]{2}$"  # printable ASCII: \s is a space
_UPN = r"^[A-Z](\d{3})\d{8}[0-9A-Z]$"
_ORDER = ["child_key", "rank", "observed_on", "la_code", "source_code", "source_record_id",
          "detail"]


def extract_dates(conn: Connection) -> dict[int, date]:
    """The date of every extract (few: one per file ever imported)."""
    return {int(i): d if isinstance(d, date) else date.fromisoformat(str(d)[:10])
            for i, d in conn.execute(select(extract.c.id, extract.c.extract_date))}


def read_records(conn: Connection, extract_dates: Mapping[int, date]) -> pl.DataFrame:
    """Every live child's active records (``child_key`` first), with the extract date each
    was observed on."""
    return observed(store.query_frame(conn, _RECORDS_SQL, _RECORDS_SCHEMA), extract_dates)


def observed(rows: pl.DataFrame, extract_dates: Mapping[int, date]) -> pl.DataFrame:
    """Records as :func:`read_records` reads them (``extract_id`` among their columns): with
    the date each was observed on instead, and no source code or id null."""
    dates = pl.DataFrame({"extract_id": list(extract_dates),
                          "observed_on": list(extract_dates.values())},
                         schema={"extract_id": pl.Int64(), "observed_on": pl.Date()})
    return rows.join(dates, on="extract_id", how="left").drop("extract_id").with_columns(
        pl.col("source_code").fill_null(""), pl.col("source_record_id").fill_null(""))


def _esc(col: pl.Expr) -> pl.Expr:
    """JSON string escaping of printable ASCII (``encode_basestring_ascii`` there)."""
    return col.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"',
                                                                           literal=True)


def _quoted(col: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), _esc(col), pl.lit('"'))


def _kind(frame: pl.DataFrame, kind: EvidenceKind, la: pl.Expr, detail: pl.Expr,
          as_json: tuple[pl.Expr, pl.Expr] | None = None) -> pl.DataFrame:
    """One kind of evidence of ``frame``'s records; ``as_json``: the council's and the
    detail's JSON, when the rule wrote them (else escaped here)."""
    la_json, detail_json = as_json or (_quoted(la), _quoted(detail))
    return frame.select(
        "child_key", pl.lit(EVIDENCE_RANK[kind], pl.Int64()).alias("rank"),
        pl.lit(kind.value).alias("kind"), la.alias("la_code"), "source_code",
        "source_record_id", "observed_on", detail.alias("detail"),
        la_json.alias("_la_json"), detail_json.alias("_detail_json"),
    ).filter(pl.col("la_code").is_not_null())


_SCHOOLS = {"_la": pl.List(pl.Utf8()), "_code": pl.List(pl.Utf8()),
            "_la_json": pl.List(pl.Utf8()), "_code_json": pl.List(pl.Utf8())}


def _schools(involvements: pl.Series, today: date) -> pl.DataFrame:
    """The schools each distinct ``involvements`` names (few distinct: one per school and
    dates, not per record), by the rule's own reading: the LA and the stripped code of every
    current education involvement whose code is a LAESTAB, and that code as JSON."""
    from contactpoint.linking.responsibility import current_education_codes

    rows = []
    for inv in involvements.unique().to_list():
        found = [(la, code.strip()) for code in current_education_codes(inv, today)
                 if (la := la_from_laestab(code)) is not None]
        rows.append((inv, [la for la, _ in found], [c for _, c in found],
                     [_json_str(la) for la, _ in found], [_json_str(c) for _, c in found]))
    return pl.DataFrame(rows, schema={"involvements": pl.Utf8(), **_SCHOOLS}, orient="row")


def _plain_pieces(frame: pl.DataFrame, table: Mapping[str, str], today: date) -> pl.DataFrame:
    """The evidence of records whose fields are printable ASCII:
    :func:`evidence_from_record`, a column at a time. A CTF's own school and the schools of its
    involvements are pieces alike (the ranking takes equal pieces once)."""
    sc, pc, upn = pl.col("source_code"), pl.col("postcode"), pl.col("upn")
    district = pc.str.strip_chars(" ").str.to_uppercase().str.extract(_OUTWARD, 1)
    with_district = frame.with_columns(district.alias("_district"))
    districts = pl.DataFrame({"_district": list(table), "_la": list(table.values())},
                             schema={"_district": pl.Utf8(), "_la": pl.Utf8()})
    home = with_district.filter(pl.col("_district").is_not_null()).join(
        districts, on="_district", how="inner")
    educated = frame.filter(pl.col("involvements").is_not_null())
    schools = educated.join(_schools(educated["involvements"], today), on="involvements",
                            how="inner").explode(list(_SCHOOLS))
    ctf = sc.str.extract(_CTF, 1)
    parts = [
        _kind(frame, EvidenceKind.COUNCIL_FEED, sc.str.extract(_FEED, 1), sc),
        _kind(home, EvidenceKind.POSTCODE_DISTRICT, pl.col("_la"), pl.col("_district")),
        _kind(frame, EvidenceKind.SCHOOL_LAESTAB, ctf.str.slice(0, 3), ctf),
        _kind(schools, EvidenceKind.SCHOOL_LAESTAB, pl.col("_la"), pl.col("_code"),
              (pl.col("_la_json"), pl.col("_code_json"))),
        _kind(frame, EvidenceKind.UPN_LA,
              upn.str.strip_chars(" ").str.to_uppercase().str.extract(_UPN, 1),
              pl.lit("upn")),
    ]
    pieces = pl.concat(parts)
    return pieces.with_columns(pl.concat_str(
        pl.lit('{"kind":"'), "kind", pl.lit('","la_code":'), pl.col("_la_json"),
        pl.lit(',"source_code":"'), _esc(sc), pl.lit('","source_record_id":"'),
        _esc(pl.col("source_record_id")), pl.lit('","observed_on":"'),
        pl.col("observed_on").dt.to_string("%Y-%m-%d"), pl.lit('","detail":'),
        pl.col("_detail_json"), pl.lit("}")).alias("json"))


def _python_pieces(frame: pl.DataFrame, today: date, table: Mapping[str, str]) -> pl.DataFrame:
    """The evidence of the other records, by the rule itself."""
    from contactpoint.linking.responsibility import current_education_codes

    rows: list[tuple[object, ...]] = []
    for key, code, srid, upn, postcode, inv, observed in frame.iter_rows():
        for e in evidence_from_record(
                source_code=code, source_record_id=srid, observed_on=observed, upn=upn,
                postcode=postcode, education_codes=current_education_codes(inv, today),
                table=table):
            rows.append((key, EVIDENCE_RANK[e.kind], e.kind.value, e.la_code, e.source_code,
                         e.source_record_id, e.observed_on, e.detail, e.as_json()))
    return pl.DataFrame(rows, schema=PIECE_SCHEMA, orient="row")


def pieces_of(records: pl.DataFrame, today: date) -> pl.DataFrame:
    """Every piece of evidence of ``records`` (:func:`read_records`), as :data:`PIECE_SCHEMA`."""
    table = district_table()
    fields = ("source_code", "source_record_id", "upn", "postcode")
    records = records.with_columns(pl.col(*fields, "involvements").cast(pl.Utf8()))
    plain = pl.all_horizontal(
        [pl.col(f).is_null() | pl.col(f).str.contains(_PLAIN) for f in fields])
    records = records.with_columns(plain.alias("_plain"))
    vectorised = _plain_pieces(records.filter(pl.col("_plain")).drop("_plain"), table, today)
    by_rule = _python_pieces(records.filter(~pl.col("_plain")).drop("_plain"), today, table)
    return pl.concat([vectorised.select(list(PIECE_SCHEMA)), by_rule])


def decide(pieces: pl.DataFrame) -> pl.DataFrame:
    """:func:`responsible_council` of every child that has evidence (:data:`RESULT_SCHEMA`):
    the pieces ranked by the rule's total order, equal ones once; among the strongest, most
    recent pieces (the first kind and date) the council most of them name wins, then the
    lower LA number, and its first piece decides and comes first, the rest in rank order."""
    ranked = (pieces.sort(_ORDER, descending=[False, False, True, False, False, False, False])
              .unique(subset=_ORDER, keep="first", maintain_order=True)
              .with_row_index("_i"))
    tied = ranked.filter(
        (pl.col("rank") == pl.col("rank").first().over("child_key"))
        & (pl.col("observed_on") == pl.col("observed_on").first().over("child_key")))
    winners = (
        tied.group_by("child_key", "la_code")
        .agg(pl.len().alias("_votes"), pl.col("_i").min().alias("_deciding"),
             pl.col("kind").first().alias("deciding_kind"))
        .sort(["child_key", "_votes", "la_code"], descending=[False, True, False])
        .group_by("child_key", maintain_order=True).first()
        .select("child_key", "la_code", "deciding_kind", "_deciding")
    )
    evidence = (
        ranked.join(winners.select("child_key", "_deciding"), on="child_key")
        .sort(["child_key", pl.col("_i") != pl.col("_deciding"), "_i"])
        .group_by("child_key", maintain_order=True)
        .agg(pl.concat_str(pl.lit("["), pl.col("json").str.join(","), pl.lit("]"))
             .alias("evidence"))
    )
    return winners.join(evidence, on="child_key").select(list(RESULT_SCHEMA)).cast(
        RESULT_SCHEMA)  # type: ignore[arg-type]


def of_clusters(clusters: pl.DataFrame, pending: pl.LazyFrame,
                extract_dates: Mapping[int, date], today: date) -> pl.DataFrame:
    """A first run's decisions before its children exist: ``clusters`` (``record_key,
    cluster_key``, every pending record) -> the council of each cluster, as :data:`RESULT_SCHEMA`
    with ``cluster_key`` for ``child_key`` (each cluster's records are its child's, and the
    child has no other: nothing is linked before a first run). ``pending``: the records as the
    run read them (``record_key``, ``source_code``, ``upn``, ``postcode`` and
    :data:`EVIDENCE_FIELDS`; a blank read as null is read alike by the rule). No database: a
    run derives them on a thread of its own while its connection writes the link decisions."""
    records = observed(pending.select(PENDING_COLUMNS).collect(), extract_dates)
    records = records.join(clusters.select("record_key", "cluster_key"), on="record_key").select(
        pl.col("cluster_key").alias("child_key"), pl.exclude("record_key", "cluster_key"))
    return decide_in_parts(records, today).rename({"child_key": "cluster_key"})


PART_RECORDS = 400_000  # records decided together: the pieces' JSON of 1 M children at once
# (sorted, deduplicated, joined) came to 4 GB, above the engine's own peak


def decide_in_parts(records: pl.DataFrame, today: date) -> pl.DataFrame:
    """:func:`decide` of :func:`pieces_of` ``records``, a part of the children at a time
    (each child's records all in one part): memory bounded by the part, not the population."""
    parts = max(1, records.height // PART_RECORDS)
    if parts == 1:
        return decide(pieces_of(records, today))
    split = records.with_columns((pl.col("child_key") % parts).alias("_part")).partition_by(
        "_part", include_key=False)
    del records
    out = []
    while split:
        out.append(decide(pieces_of(split.pop(), today)))
    return pl.concat(out)


def every_child(conn: Connection, today: date, extract_dates: Mapping[int, date],
                previous: pl.DataFrame, known: pl.DataFrame | None = None) -> pl.DataFrame:
    """The decision of every live child in ``previous`` (``child_key, owning_la``): its
    council (the one it had when it has no evidence), deciding kind, evidence JSON, whether
    ``owning_la`` is to be written (``changed``, 1/0, as the staging table of
    :mod:`.responsibility` takes them), whether the child moves from one council to another
    (``moved``) and its council before (``previous``). ``known``: the decisions already made
    (:data:`RESULT_SCHEMA`) of every child with evidence, whose ``owning_la`` was set from
    them when they were created (a first run's children), not derived again."""
    found = (decide_in_parts(read_records(conn, extract_dates), today) if known is None
             else known)
    council = pl.coalesce("la_code", "owning_la")
    changed = council.ne_missing(pl.col("owning_la"))
    return previous.join(found, on="child_key", how="left").select(
        "child_key",
        council.alias("la_code"),
        "deciding_kind",
        pl.col("evidence").fill_null("[]"),
        changed.cast(pl.Int64()).alias("changed"),
        (changed & pl.col("owning_la").is_not_null()).alias("moved"),
        pl.col("owning_la").alias("previous"),
    ).sort("child_key")


__all__ = ["EVIDENCE_FIELDS", "PENDING_COLUMNS", "decide", "decide_in_parts", "every_child",
           "extract_dates", "observed", "of_clusters", "pieces_of", "read_records"]
