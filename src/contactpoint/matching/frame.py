"""The record-frame contract: what the linkage engine reads.

A record frame is a polars DataFrame with one row per *source record* (not per child) and
exactly the columns of :data:`RECORD_SCHEMA`. The linking service builds it from the
``source_record`` table (``record_key`` = ``source_record.id``); benchmarks build it from feed
files. Values are already normalised by the importer: postcode ``"SW1A 1AA"`` or null, NHS number
10 digits passing modulus 11 or null, UPN valid or null, ``sex`` one of ``M``/``F``/``U`` or
null, carers' names joined by ``"|"``. The engine applies its own, further, comparison-only
normalisation (case, accents, punctuation) in :mod:`contactpoint.matching.normalise`; it never
writes back.

``match_new`` also takes an *existing* frame: a record frame plus ``child_key`` (Int64: the child
each existing record belongs to) and ``shielded`` (Boolean: that child is shielded), wrapped in
:class:`Existing`: every existing record, or only what changed since the engine last saw them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from contactpoint.errors import ValidationFailed

RECORD_SCHEMA: Mapping[str, pl.DataType] = {
    "record_key": pl.Int64(),
    "source_code": pl.Utf8(),
    "given_name": pl.Utf8(),
    "middle_names": pl.Utf8(),
    "family_name": pl.Utf8(),
    "former_family_name": pl.Utf8(),
    "preferred_name": pl.Utf8(),
    "date_of_birth": pl.Date(),
    "sex": pl.Utf8(),
    "address_line_1": pl.Utf8(),
    "address_line_2": pl.Utf8(),
    "address_line_3": pl.Utf8(),
    "town": pl.Utf8(),
    "postcode": pl.Utf8(),
    "nhs_number": pl.Utf8(),
    "upn": pl.Utf8(),
    "carer_names": pl.Utf8(),
}

EXISTING_EXTRA_SCHEMA: Mapping[str, pl.DataType] = {
    "child_key": pl.Int64(),
    "shielded": pl.Boolean(),
}

CARER_SEPARATOR = "|"


@dataclass(frozen=True)
class Existing:
    """The existing records a delta is matched against, as the engine should hold them.

    * In full (``since`` is ``None``): ``records`` is every existing record (an existing frame).
    * As changes: since the state named ``since`` (which the engine's store must hold), every
      record in ``changed`` may have changed; ``records`` holds those of them that are still
      existing records, as they are now; ``shielded_children`` is every shielded child now.

    ``mark`` names the state this brings the engine's store to (opaque to the engine, which
    keeps it with the records and hands it back); ``None`` means "do not keep".
    """

    records: pl.DataFrame
    mark: str | None = None
    since: str | None = None
    changed: pl.Series | None = None
    shielded_children: pl.Series | None = None

    @classmethod
    def whole(cls, records: pl.DataFrame, mark: str | None = None) -> Existing:
        return cls(conform(records, existing=True), mark)

    @property
    def complete(self) -> bool:
        return self.since is None


class InvalidRecordFrame(ValidationFailed):
    code = "invalid_record_frame"


def empty_record_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=dict(RECORD_SCHEMA))


def conform(df: pl.DataFrame, *, existing: bool = False) -> pl.DataFrame:
    """Select and cast ``df`` to the contract (adds missing optional columns as nulls).

    ``record_key``, ``given_name``, ``family_name`` and ``date_of_birth`` must be present;
    every other column is optional. Raises :class:`InvalidRecordFrame` otherwise.
    """
    schema = dict(RECORD_SCHEMA)
    if existing:
        schema.update(EXISTING_EXTRA_SCHEMA)
    required = {"record_key", "given_name", "family_name", "date_of_birth"}
    if existing:
        required |= {"child_key"}
    missing = required - set(df.columns)
    if missing:
        raise InvalidRecordFrame(f"record frame lacks required columns: {sorted(missing)}")
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype))
        elif name == "shielded":
            exprs.append(pl.lit(False, dtype=pl.Boolean()).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    out = df.select(exprs)
    validate(out, existing=existing)
    return out


def validate(df: pl.DataFrame, *, existing: bool = False) -> None:
    """Check ``df`` is a record frame: exact columns and types, unique non-null keys."""
    schema = dict(RECORD_SCHEMA)
    if existing:
        schema.update(EXISTING_EXTRA_SCHEMA)
    for name, dtype in schema.items():
        if name not in df.columns:
            raise InvalidRecordFrame(f"record frame lacks column {name!r}")
        if df.schema[name] != dtype:
            raise InvalidRecordFrame(
                f"record frame column {name!r} is {df.schema[name]}, expected {dtype}"
            )
    if df.height == 0:
        return
    if df["record_key"].null_count():
        raise InvalidRecordFrame("record_key may not be null")
    if df["record_key"].n_unique() != df.height:
        raise InvalidRecordFrame("record_key must be unique")
    if existing and df["child_key"].null_count():
        raise InvalidRecordFrame("child_key may not be null in an existing frame")
    bad_sex = df.filter(pl.col("sex").is_not_null() & ~pl.col("sex").is_in(["M", "F", "U"]))
    if bad_sex.height:
        raise InvalidRecordFrame(f"{bad_sex.height} records have sex outside M/F/U")
