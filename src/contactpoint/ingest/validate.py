"""Vectorised validation and normalisation of a batch of feed rows (polars).

Input: a frame of string columns named as in the CSV contract, plus ``_row``. Output: the
rows that passed, normalised to :data:`STAGE_COLUMNS`, and one reject line per failed check
(``row, column, value, reason``). Every check is a column expression, so a 100,000-row batch
is validated in a few tens of milliseconds; no per-row Python runs unless a row failed.

Decisions (docs/ingest.md):
* a postcode that is not the shape of a UK postcode (e.g. FEBRL's 4-digit Australian ones)
  does not reject the row: its text moves to the first empty address line (or is appended to
  ``address_line_3``) and ``postcode`` stays empty;
* date of birth must be a real ``YYYY-MM-DD`` date, not in the future and not before
  ``min_birth_date`` (default 1900-01-01; the CLI's ``--max-age`` narrows it);
* a row with ``record_status=deleted`` needs only ``source_record_id``;
* service fields without ``service_type`` make an involvement of type ``other``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import polars as pl

from contactpoint.domain.identifiers import UPN_LETTERS
from contactpoint.domain.record import SENSITIVE_SERVICE_TYPES
from contactpoint.ingest.columns import (
    ASSESSMENT_STATUSES,
    CSV_COLUMNS,
    IDENTITY_COLUMNS,
    MAX_LENGTH,
    PARENT_FIELDS,
    RECORD_STATUSES,
    ROW,
    SERVICE_COLUMNS,
    SERVICE_TYPES,
    SEXES,
    STAGE_COLUMNS,
    YES_NO,
)

REJECT_SCHEMA = {ROW: pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}
_UK_POSTCODE = r"^(GIR0AA|[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2})$"
_DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_UPN_SHAPE = r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$"
_UPN_VALUES = {**{str(d): d for d in range(10)}, **{c: i for i, c in enumerate(UPN_LETTERS)}}
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_HASH_SEPARATOR = "\x1f"
_HASHED_COLUMNS = [c for c in STAGE_COLUMNS if c not in ("record_status", "content_hash")]


@dataclass(frozen=True)
class Rules:
    today: date
    min_birth_date: date = date(1900, 1, 1)


@dataclass(frozen=True)
class Check:
    column: str
    reason: str
    bad: pl.Expr


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def _clean(df: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Strip every text column, turn empty strings into nulls, add absent columns as nulls."""
    exprs = []
    for name in columns:
        if name in df.columns:
            stripped = pl.col(name).cast(pl.String).str.strip_chars()
            exprs.append(pl.when(stripped == "").then(None).otherwise(stripped).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=pl.String).alias(name))
    return df.with_columns(exprs)


def _date_checks(name: str, rules: Rules, *, birth: bool) -> list[Check]:
    raw = pl.col(name)
    parsed = raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    shaped = raw.str.contains(_DATE_SHAPE)
    checks = [
        Check(name, "not a date in YYYY-MM-DD form", raw.is_not_null() & ~shaped),
        Check(name, "not a real calendar date", shaped & parsed.is_null()),
    ]
    if birth:
        checks += [
            Check(name, "date of birth is in the future", parsed > pl.lit(rules.today)),
            Check(
                name,
                f"date of birth before {rules.min_birth_date.isoformat()} is not plausible",
                parsed < pl.lit(rules.min_birth_date),
            ),
        ]
    return checks


def _digits(number: pl.Expr, count: int) -> list[pl.Expr]:
    """The ``count`` decimal digits of an integer column, most significant first."""
    return [(number // 10 ** (count - 1 - i)) % 10 for i in range(count)]


def _nhs_fails_mod11(nhs: pl.Expr) -> pl.Expr:
    """A 10-digit NHS number whose last digit is not its modulus 11 check digit.

    Integer arithmetic on the number itself: one parse instead of ten substrings. The check
    digit is ``11 - total mod 11`` with 11 read as 0; 10 (no valid number) equals no digit.
    """
    number = nhs.cast(pl.Int64, strict=False)
    first_nine = _digits(number // 10, 9)
    total = pl.sum_horizontal([d * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True)])
    return (11 - total % 11) % 11 != number % 10


def _upn_expected(upn: pl.Expr) -> pl.Expr:
    """The check letter of a UPN-shaped value: characters 2-12 are digits (weights 2-12),
    character 13 a digit or letter (weight 13)."""
    middle = [upn.str.slice(i, 1).cast(pl.Int32, strict=False) * (i + 1) for i in range(1, 12)]
    last = upn.str.slice(12, 1).replace_strict(_UPN_VALUES, default=None, return_dtype=pl.Int32)
    total = pl.sum_horizontal(middle) + last * 13
    letters = dict(enumerate(UPN_LETTERS))
    return (total % 23).replace_strict(letters, default=None, return_dtype=pl.String)


def _normalised(df: pl.DataFrame) -> pl.DataFrame:
    """Helper columns (prefixed ``__``) that the checks and the output both use."""
    nhs = pl.col("nhs_number").str.replace_all(r"[\s-]", "")
    upn = pl.col("upn").str.to_uppercase()
    pc = pl.col("postcode").str.replace_all(r"\s+", "").str.to_uppercase()
    return df.with_columns(
        pl.col("record_status").str.to_lowercase().fill_null("active").alias("__status"),
        pl.col("sex").str.to_uppercase().alias("__sex"),
        nhs.alias("__nhs"),
        upn.alias("__upn"),
        pc.alias("__pc"),
    ).with_columns(
        pl.col("__nhs").str.contains(r"^[0-9]{10}$").fill_null(False).alias("__nhs_shape"),
        pl.col("__upn").str.contains(_UPN_SHAPE).fill_null(False).alias("__upn_shape"),
        pl.col("__pc").str.contains(_UK_POSTCODE).fill_null(False).alias("__pc_uk"),
    )


def identity_checks(rules: Rules) -> list[Check]:
    active = pl.col("__status") == "active"
    checks = [Check("source_record_id", "required", pl.col("source_record_id").is_null())]
    for name in ("given_name", "family_name", "date_of_birth"):
        checks.append(Check(name, "required", active & pl.col(name).is_null()))
    checks.append(
        Check(
            "record_status",
            f"must be one of {', '.join(RECORD_STATUSES)}",
            ~pl.col("__status").is_in(RECORD_STATUSES),
        )
    )
    checks += _date_checks("date_of_birth", rules, birth=True)
    sex = pl.col("__sex")
    checks.append(Check("sex", "must be M, F or U", sex.is_not_null() & ~sex.is_in(SEXES)))
    checks += [
        Check("nhs_number", "an NHS number is 10 digits",
              pl.col("__nhs").is_not_null() & ~pl.col("__nhs_shape")),
        Check("nhs_number", "NHS number fails the modulus 11 check",
              pl.col("__nhs_shape") & _nhs_fails_mod11(pl.col("__nhs"))),
        Check("upn", "a UPN is 13 characters: a check letter, 11 digits, and a digit or letter",
              pl.col("__upn").is_not_null() & ~pl.col("__upn_shape")),
        Check("upn", "UPN check letter does not match",
              pl.col("__upn_shape")
              & (_upn_expected(pl.col("__upn")) != pl.col("__upn").str.slice(0, 1))),
    ]
    for name in IDENTITY_COLUMNS:
        if name in MAX_LENGTH:
            limit = MAX_LENGTH[name]
            checks.append(
                Check(name, f"longer than {limit} characters", pl.col(name).str.len_chars() > limit)
            )
    return checks


def csv_extra_checks(rules: Rules) -> list[Check]:
    checks: list[Check] = []
    for n in (1, 2):
        name = pl.col(f"parent_{n}_name")
        others = [pl.col(f"parent_{n}_{f}").is_not_null() for f in PARENT_FIELDS[1:]]
        checks.append(
            Check(f"parent_{n}_name", f"required when other parent_{n}_ fields are given",
                  name.is_null() & pl.any_horizontal(others))
        )
        flag = f"parent_{n}_parental_responsibility"
        checks.append(_enum_check(flag, YES_NO, upper=True))
    checks.append(_enum_check("service_type", SERVICE_TYPES, upper=False))
    checks.append(_enum_check("assessment_status", ASSESSMENT_STATUSES, upper=False))
    for flag in ("sensitive_service", "consent_to_disclose", "lead_professional"):
        checks.append(_enum_check(flag, YES_NO, upper=True))
    checks += _date_checks("service_start", rules, birth=False)
    checks += _date_checks("service_end", rules, birth=False)
    start = pl.col("service_start").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    end = pl.col("service_end").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    checks.append(Check("service_end", "before service_start", end < start))
    for column in CSV_COLUMNS:
        if column not in IDENTITY_COLUMNS and column in MAX_LENGTH:
            limit = MAX_LENGTH[column]
            checks.append(Check(column, f"longer than {limit} characters",
                                pl.col(column).str.len_chars() > limit))
    return checks


def _enum_check(name: str, allowed: tuple[str, ...], *, upper: bool) -> Check:
    value = pl.col(name).str.to_uppercase() if upper else pl.col(name).str.to_lowercase()
    return Check(name, f"must be one of {', '.join(allowed)}",
                 value.is_not_null() & ~value.is_in(allowed))


def _yes_no(name: str) -> pl.Expr:
    value = pl.col(name).str.to_uppercase()
    return pl.when(value == "Y").then(True).when(value == "N").then(False).otherwise(None)


# ``carers`` and ``involvements`` are compact JSON with a fixed key order and no null-valued
# keys (readers take a missing key as null): the canonical form the content hash covers. Each
# object is built member by member, so a null member is simply left out.
def _member(key: str, value: pl.Expr) -> pl.Expr:
    """``"key":"value"`` (JSON-escaped by polars), or null when the value is null."""
    encoded = pl.struct(value.alias(key)).struct.json_encode()  # {"key":"value"}
    return pl.when(value.is_not_null()).then(encoded.str.strip_prefix("{").str.strip_suffix("}"))


def _flag_member(key: str, value: pl.Expr) -> pl.Expr:
    """``"key":true`` / ``"key":false`` for a boolean column, or null when it is null."""
    flag = pl.when(value).then(pl.lit("true")).when(~value).then(pl.lit("false"))
    return pl.lit(f'"{key}":') + flag


def _json_object(members: list[pl.Expr]) -> pl.Expr:
    inner = pl.concat_str(members, separator=",", ignore_nulls=True)
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])


def _carers_json() -> pl.Expr:
    carers = []
    for n in (1, 2):
        p = f"parent_{n}_"
        carer = _json_object([
            _member("name", pl.col(p + "name")),
            _member("relationship", pl.col(p + "relationship")),
            _member("phone", pl.col(p + "phone")),
            _flag_member("parental_responsibility", _yes_no(p + "parental_responsibility")),
        ])
        carers.append(pl.when(pl.col(p + "name").is_not_null()).then(carer))
    inner = pl.concat_str(carers, separator=",", ignore_nulls=True).fill_null("")
    return pl.concat_str([pl.lit("["), inner, pl.lit("]")])


def _involvements_json() -> pl.Expr:
    service_type = pl.col("service_type").str.to_lowercase().fill_null("other")
    sensitive = (pl.col("sensitive_service").str.to_uppercase() == "Y").fill_null(False) | (
        service_type.is_in([s.value for s in SENSITIVE_SERVICE_TYPES])
    )
    consent = pl.when(pl.col("consent_to_disclose").str.to_uppercase() == "Y")
    involvement = _json_object([
        _member("service_type", service_type),
        _member("org_code", pl.col("service_org_code")),
        _member("org_name", pl.col("service_org_name")),
        *[_member(c, pl.col(c)) for c in ("practitioner_name", "practitioner_role",
                                          "practitioner_phone", "practitioner_email")],
        _member("start", pl.col("service_start")),
        _member("end", pl.col("service_end")),
        _flag_member("sensitive", sensitive),
        _member("consent_basis",
                consent.then(pl.lit("consent")).otherwise(pl.lit("not_given"))),
        _member("assessment_status",
                pl.col("assessment_status").str.to_lowercase().fill_null("none")),
        _flag_member("lead_professional",
                     (pl.col("lead_professional").str.to_uppercase() == "Y").fill_null(False)),
    ])
    present = pl.any_horizontal([pl.col(c).is_not_null() for c in SERVICE_COLUMNS])
    return pl.when(present).then(pl.concat_str([pl.lit("["), involvement, pl.lit("]")])).otherwise(
        pl.lit("[]")
    )


def _address_with_foreign_postcode() -> list[pl.Expr]:
    """Move a non-UK postcode's text into the first empty address line."""
    foreign = pl.col("postcode").is_not_null() & ~pl.col("__pc_uk")
    text = pl.col("postcode")
    l1, l2, l3 = (pl.col(f"address_line_{i}") for i in (1, 2, 3))
    return [
        pl.when(foreign & l1.is_null()).then(text).otherwise(l1).alias("address_line_1"),
        pl.when(foreign & l1.is_not_null() & l2.is_null()).then(text).otherwise(l2)
        .alias("address_line_2"),
        pl.when(foreign & l1.is_not_null() & l2.is_not_null())
        .then(pl.concat_str([l3, text], separator=" ", ignore_nulls=True))
        .otherwise(l3).alias("address_line_3"),
        pl.when(pl.col("__pc_uk"))
        .then(pl.concat_str([pl.col("__pc").str.slice(0, pl.col("__pc").str.len_chars() - 3),
                             pl.lit(" "), pl.col("__pc").str.slice(-3, 3)]))
        .otherwise(None).alias("postcode"),
    ]


def content_hashes(frame: pl.DataFrame) -> pl.Series:
    """sha256 (hex) of each record's normalised content: its :data:`STAGE_COLUMNS` but
    ``record_status`` and the hash, in that order, as UTF-8 joined by ``\\x1f`` (null as
    empty). Canonical because the normalisation is: carers/involvements are compact JSON
    with a fixed key order and no null-valued keys."""
    joined = frame.select(
        pl.concat_str([pl.col(c).fill_null("") for c in _HASHED_COLUMNS],
                      separator=_HASH_SEPARATOR).cast(pl.Binary)
    ).to_series()
    digests = [hashlib.sha256(value).digest() for value in joined.to_list()]
    return pl.Series("content_hash", digests, dtype=pl.Binary).bin.encode("hex")


def validate_batch(
    df: pl.DataFrame, rules: Rules, *, flat_extras: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a batch into normalised good rows and reject lines.

    ``flat_extras``: the frame has the CSV's flat parent/service columns, from which carers
    and involvements are built; otherwise it already carries ``carers``/``involvements`` JSON.
    """
    wanted = CSV_COLUMNS if flat_extras else IDENTITY_COLUMNS
    frame = _normalised(_clean(df, wanted))
    checks = identity_checks(rules) + (csv_extra_checks(rules) if flat_extras else [])
    bad_names = [f"__bad{i}" for i in range(len(checks))]
    frame = frame.with_columns(
        [c.bad.fill_null(False).alias(n) for c, n in zip(checks, bad_names, strict=True)]
    ).with_columns(pl.any_horizontal(bad_names).alias("__any_bad"))
    rejects = empty_rejects()
    if frame.get_column("__any_bad").any():
        parts = [
            frame.filter(pl.col(n)).select(
                pl.col(ROW).cast(pl.Int64),
                pl.lit(c.column).alias("column"),
                pl.col(c.column).cast(pl.String).alias("value"),
                pl.lit(c.reason).alias("reason"),
            )
            for c, n in zip(checks, bad_names, strict=True)
        ]
        rejects = pl.concat(parts).sort(ROW, maintain_order=True)
        frame = frame.filter(~pl.col("__any_bad"))
    out = frame.with_columns(
        pl.col("__status").alias("record_status"),
        pl.col("__sex").alias("sex"),
        pl.col("__nhs").alias("nhs_number"),
        pl.col("__upn").alias("upn"),
        *_address_with_foreign_postcode(),
    )
    if flat_extras:
        out = out.with_columns(_carers_json().alias("carers"),
                               _involvements_json().alias("involvements"))
    else:
        out = out.with_columns(pl.col("carers").fill_null("[]"),
                               pl.col("involvements").fill_null("[]"))
    out = out.select(pl.col(ROW).cast(pl.Int64), *[c for c in STAGE_COLUMNS if c != "content_hash"])
    out = out.with_columns(content_hashes(out))
    return out, rejects
