"""Comparison-only normalisation: turns a record frame into the linkage frame Splink reads.

Nothing here changes a stored value; it derives comparison keys:

* ``fn`` / ``sn``: given / family name folded to ASCII lower-case letters;
* ``fn_canon``: the nickname / transliteration group of ``fn`` (``data/nicknames.txt``);
* ``fn_names``: the canonical forms of every forename the record carries (given, preferred,
  middle); ``sn_names``: every surname part (hyphenated parts, former surname);
* ``fn_mp`` / ``sn_mp``: metaphone codes (jellyfish) for phonetic agreement;
* ``fn_mid`` (middle names), with ``fn_mid_ini`` (their initials, ``"ii"``) and ``fn_mid_abbr``
  (every middle name is an initial: ``Jannat I Ferdous``), so an initial is compatible with the
  name it abbreviates;
* ``dob``: ISO date text; ``pc``, ``pc_sector``, ``pc_district``; ``addr_num`` (house number)
  and ``addr_street`` (address letters); ``carers``: carer full names.
Phonetic codes and nickname look-ups are computed once per distinct name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

import jellyfish
import polars as pl

from contactpoint.matching.frame import CARER_SEPARATOR

PREPARE_VERSION = "3"  # bump whenever prepare() derives a key differently (cached keys expire)

_NON_LETTER = re.compile(r"[^a-z]+")
_FLAT = r"\b(?:flat|apartment|apt|unit|room|suite)\s*\d+[a-z]?\b"


def fold(value: str) -> str:
    """ASCII lower case, accents removed: ``"Zoë-Anne "`` -> ``"zoe-anne "``."""
    decomposed = unicodedata.normalize("NFKD", value)
    return decomposed.encode("ascii", "ignore").decode().lower()


# Placeholders a source writes where a forename is not yet known: treated as missing.
PLACEHOLDER_FORENAMES = frozenset(
    {"baby", "babyboy", "babygirl", "infant", "unknown", "unnamed", "notknown", "nk", "twin",
     "twina", "twinb", "male", "female", "boy", "girl", "child", "newborn", "xx", "xxx"}
)


def name_key(value: str | None) -> str | None:
    if value is None:
        return None
    key = _NON_LETTER.sub("", fold(value))
    return key or None


def forename_key(value: str | None) -> str | None:
    """A forename's key, or None for a placeholder (``"Baby"``, ``"Unknown"``, ``"Twin 1"``)."""
    key = name_key(value)
    if key is None or key in PLACEHOLDER_FORENAMES:
        return None
    return key


def name_tokens(value: str | None) -> list[str]:
    if value is None:
        return []
    return [t for t in _NON_LETTER.split(fold(value)) if t]


@lru_cache(maxsize=1)
def nickname_groups() -> dict[str, str]:
    """name -> canonical name of its group (the first group listing it wins)."""
    text = resources.files("contactpoint.matching").joinpath("data/nicknames.txt").read_text()
    mapping: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names = line.split()
        for name in names:
            mapping.setdefault(name, names[0])
    return mapping


@lru_cache(maxsize=1)
def known_forenames() -> frozenset[str]:
    """Forenames known to be names (not keying slips): every name of our nickname groups
    (``data/nicknames.txt``) and of the curated ``nicknames`` package (English names and their
    nicknames, Apache-2.0), as :func:`forename_key` folds them."""
    from nicknames import name_triplets

    names = set(nickname_groups())
    for triplet in name_triplets():
        names.update(k for n in (triplet.name1, triplet.name2) if (k := forename_key(n)))
    return frozenset(names)


def canonical(name: str | None) -> str | None:
    if name is None:
        return None
    return nickname_groups().get(name, name)


_OCR_FOLDS = (("rn", "m"), ("cl", "d"), ("vv", "w"), ("ii", "u"), ("0", "o"), ("1", "l"))


def ocr_key(name: str | None) -> str | None:
    """Fold the shapes scanning confuses (``rn``/``m``, ``cl``/``d``): ``sirnran`` -> ``simran``."""
    if not name:
        return None
    for src, dst in _OCR_FOLDS:
        name = name.replace(src, dst)
    return name


def _metaphone(name: str | None) -> str | None:
    if not name:
        return None
    return jellyfish.metaphone(name) or None


def _map_unique(col: pl.Series, fn: object, dtype: pl.DataType) -> pl.Series:
    """Apply a Python function once per distinct value of ``col``."""
    uniq = col.drop_nulls().unique()
    values = [fn(v) for v in uniq.to_list()]  # type: ignore[operator]
    lookup = pl.DataFrame({"k": uniq, "v": _series(values, dtype)})
    return (
        pl.DataFrame({"k": col})
        .join(lookup, on="k", how="left", maintain_order="left")
        .get_column("v")
    )


_SEP = "\x1f"  # the unit separator: in no name (every key is folded to letters)


def _series(values: list[Any], dtype: pl.DataType) -> pl.Series:
    """``pl.Series(values, dtype=dtype)``. Lists of text are built by one split of joined text
    instead: polars makes a Series of each inner list (at 1 M records, ~5 of the 16 s
    that preparing took); the same lists, unless a name is empty or holds the separator."""
    if dtype != pl.List(pl.Utf8()) or any(
            v is not None and ("" in v or any(_SEP in x for x in v)) for v in values):
        return pl.Series(values, dtype=dtype)
    joined = pl.Series([None if v is None else _SEP.join(v) for v in values], dtype=pl.Utf8())
    return pl.select(
        pl.when(joined == "").then(pl.lit([], dtype=dtype)).otherwise(joined.str.split(_SEP))
    ).to_series()


def _canon_list(values: list[str]) -> list[str]:
    groups = nickname_groups()
    return sorted({groups.get(v, v) for v in values})


def _surname_parts(value: str) -> list[str]:
    """Whole surnames and parts: ``"Smith-Jones|Black"`` -> smith, jones, smithjones, black."""
    parts: set[str] = set()
    for whole in value.split("|"):
        if key := name_key(whole):
            parts.add(key)
        parts.update(t for t in name_tokens(whole) if len(t) > 1)
    return sorted(parts)


def name_keys(records: pl.DataFrame) -> pl.DataFrame:
    """The cheap keys only (per distinct value): ``unique_id``, ``source_code``, ``fn``, ``sn``,
    ``dob``, ``pc_district``. Used to pre-select candidates and count term frequencies over a
    whole existing population without preparing every record in full."""
    df = records
    fn = _map_unique(df.get_column("given_name"), forename_key, pl.Utf8())
    first_middle = _map_unique(
        df.get_column("middle_names"),
        lambda v: next((t for t in name_tokens(v) if t not in PLACEHOLDER_FORENAMES), None),
        pl.Utf8(),
    )
    return pl.DataFrame(
        {
            "unique_id": df.get_column("record_key"),
            "source_code": df.get_column("source_code"),
            "fn": pl.DataFrame({"a": fn, "b": first_middle}).select(pl.coalesce("a", "b"))
            .to_series(),
            "sn": _map_unique(df.get_column("family_name"), name_key, pl.Utf8()),
        }
    ).with_columns(
        df.select(
            dob=pl.col("date_of_birth").dt.strftime("%Y-%m-%d"),
            pc_district=pl.col("postcode").str.to_uppercase().str.split(" ").list.first(),
        )
    )


def prepare(records: pl.DataFrame) -> pl.DataFrame:
    """The linkage frame for a (validated) record frame; ``unique_id`` = ``record_key``."""
    df = records
    fn_raw = df.get_column("given_name")
    fn = _map_unique(fn_raw, forename_key, pl.Utf8())
    # "Baby Katelyn": a placeholder given name falls back to the first middle name
    first_middle = _map_unique(
        df.get_column("middle_names"),
        lambda v: next((t for t in name_tokens(v) if t not in PLACEHOLDER_FORENAMES), None),
        pl.Utf8(),
    )
    fn = pl.DataFrame({"a": fn, "b": first_middle}).select(
        pl.coalesce("a", "b")
    ).to_series().alias("fn")
    sn = _map_unique(df.get_column("family_name"), name_key, pl.Utf8())
    all_forenames = pl.concat_str(
        [pl.col("given_name"), pl.col("preferred_name"), pl.col("middle_names")],
        separator=" ",
        ignore_nulls=True,
    )
    fn_names = _map_unique(
        df.select(all_forenames).to_series(),
        lambda v: _canon_list(
            [t for t in name_tokens(v) if t not in PLACEHOLDER_FORENAMES]
            + ([k] if (k := forename_key(v.split(" ")[0])) else [])
        ),
        pl.List(pl.Utf8()),
    )
    all_surnames = pl.concat_str(
        [pl.col("family_name"), pl.col("former_family_name")], separator="|", ignore_nulls=True
    )
    sn_names = _map_unique(
        df.select(all_surnames).to_series(), _surname_parts, pl.List(pl.Utf8())
    )
    former = _map_unique(df.get_column("former_family_name"), name_key, pl.Utf8())
    out = pl.DataFrame(
        {
            "unique_id": df.get_column("record_key"),
            "source_code": df.get_column("source_code"),
            "fn": fn,
            "sn": sn,
            "sn_former": former,
            "fn_names": fn_names,
            "sn_names": sn_names,
        }
    )
    out = out.with_columns(
        fn_mid=_map_unique(
            df.get_column("middle_names"),
            lambda v: " ".join(t for t in name_tokens(v) if t not in PLACEHOLDER_FORENAMES)
            or None,
            pl.Utf8(),
        ),
        fn_mid_ini=_map_unique(
            df.get_column("middle_names"),
            lambda v: "".join(t[0] for t in name_tokens(v) if t not in PLACEHOLDER_FORENAMES)
            or None,
            pl.Utf8(),
        ),
        fn_mid_abbr=_map_unique(
            df.get_column("middle_names"),
            lambda v: all(len(t) == 1 for t in name_tokens(v)) if name_tokens(v) else None,
            pl.Boolean(),
        ),
        fn_ocr=_map_unique(out.get_column("fn"), ocr_key, pl.Utf8()),
        sn_ocr=_map_unique(out.get_column("sn"), ocr_key, pl.Utf8()),
        fn_canon=_map_unique(out.get_column("fn"), canonical, pl.Utf8()),
        fn_mp=_map_unique(out.get_column("fn"), _metaphone, pl.Utf8()),
        sn_mp=_map_unique(out.get_column("sn"), _metaphone, pl.Utf8()),
    )
    addr1 = (
        pl.concat_str(
            [pl.col("address_line_1"), pl.col("address_line_2")], separator=" ", ignore_nulls=True
        )
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9 ]+", " ")
    )
    pc = pl.col("postcode").str.to_uppercase().str.strip_chars()
    extra = df.select(
        dob=pl.col("date_of_birth").dt.strftime("%Y-%m-%d"),
        sex=pl.when(pl.col("sex").is_in(["M", "F"])).then(pl.col("sex")),
        pc=pc,
        pc_sector=pc.str.slice(0, pc.str.len_chars() - 2),
        pc_district=pc.str.split(" ").list.first(),
        addr_num=addr1.str.replace(_FLAT, " ").str.extract(r"\b(\d+[a-z]?)\b", 1),
        addr_street=addr1.str.replace(_FLAT, " ")
        .str.replace_all(r"\b\d+[a-z]?\b", "")
        .str.replace_all(r"[^a-z]+", ""),
        town=pl.col("town").str.to_lowercase().str.replace_all(r"[^a-z]+", ""),
        addr3=pl.col("address_line_3").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", ""),
        nhs=pl.col("nhs_number"),
        upn=pl.col("upn"),
        carers=pl.col("carer_names")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z|]+", "")
        .str.split(CARER_SEPARATOR)
        .list.eval(pl.element().filter(pl.element().str.len_chars() > 0)),
    )
    out = pl.concat([out, extra], how="horizontal")
    return out.with_columns(
        pl.when(pl.col("addr_street").str.len_chars() > 0).then(pl.col("addr_street")),
        pl.when(pl.col("carers").list.len() > 0).then(pl.col("carers")),
        pl.when(pl.col("town").str.len_chars() > 0).then(pl.col("town")),
        pl.when(pl.col("addr3").str.len_chars() > 0).then(pl.col("addr3")),
    )
