"""Keying slips: a source's second record of one child under a mistyped forename.

The one-record-per-source rules (:mod:`.cluster`'s signatures, :func:`.twins.ambiguous_records`,
:func:`.twins.twin_named_alike`) read two records of one source with one date of birth and two
forenames as two children born together. A source that holds a child twice, once as ``Seth``
and once as ``Setth`` (or a dedupe file: ``Jeff`` and ``Jfef``), is not holding twins, and
those rules kept its records apart.

A forename is taken for a slip of another, and the record is read under the other name by those
rules only (nothing stored, no comparison level changes), when all of these hold:

* it is no known forename (:func:`.normalise.known_forenames`: our nickname groups and the
  curated ``nicknames`` package) and no other record of the population carries it, or every
  record that carries it is read so, each beside an established name and each on another
  date of birth (the same slip of a common name made twice: ``Gcorge`` beside ``George`` in
  two families; two sources writing ``Alisha`` beside ``Aisha`` on one date hold twins);
* the same source holds, on the same date of birth, a record whose forename is *established*
  (a known forename, or carried by two records or more; or as rare as the slip, when the two
  are read under the alphabetically first), of a sex that does not disagree, and
  from which it is one keying slip of a kind that rarely makes another real name
  (:func:`is_slip`: neighbours swapped, a letter scanned as another, a vowel keyed as a
  consonant or a consonant as its neighbour on the keyboard, a letter dropped or added inside
  the name; never the first or last letter, a vowel for a vowel, or a doubled consonant);
* exactly one such forename exists (``Hanaa`` between twins ``Hana`` and ``Hanna`` stays as it
  is).

A slip of the kinds :func:`is_slip` refuses (a doubled consonant ``Stanlley``, a vowel for a
vowel ``Olivoa``, the first or last letter ``Louisc``: :func:`is_any_slip`) is read too when the
forename carrying it is carried by no other record and more than the forename says the two
records are one child's (:func:`_one_child_beside`): the same full middle name on both (twins
are not given one middle name), or two other sources holding the established name on that date
and none the slip (twins are registered alike: the registers that hold one twin hold the
other), with no other forename one slip from it on that date anywhere (``Hannah`` held
elsewhere makes ``Hanna`` either twin's). A single file with neither (a dedupe-only extract
without middle names) keeps such a pair apart: its records cannot tell it from twins.

Twins given names one letter apart are named the way real names vary (Amelia and Amelie,
Hana and Hanna, Aiden and Aidan, Javier and Xavier), which :func:`is_slip` refuses whatever
the lists say. What this can still get wrong: twins whose unlisted names are one slip of the
kinds above apart (Jevon and Jvon), each carried by one record only; the twin vetoes
then still refuse any pair whose forenames disagree otherwise (docs/linkage.md). What it
leaves: a doubled consonant (Setth beside Seth) stays a second child of that source.
"""

from __future__ import annotations

import jellyfish
import polars as pl

from contactpoint.matching.normalise import known_forenames, ocr_key


def slip_forenames(lf: pl.DataFrame, counts: pl.DataFrame | None = None) -> pl.Series:
    """``lf``'s ``fn`` with each keying slip replaced by the forename it mistypes (same
    length and order as ``lf``; ``lf`` needs ``unique_id``, ``source_code``, ``dob``, ``fn``,
    ``sex`` when present).

    ``counts`` (``fn``, ``n``): how many records of the whole population carry each forename,
    when ``lf`` is only part of it (``match_new``: a day's records and the records of their
    candidate children); by default ``lf`` is the population."""
    fn = lf.get_column("fn")
    none = pl.repeat(None, lf.height, dtype=pl.Utf8, eager=True)
    sex = lf.get_column("sex") if "sex" in lf.columns else none
    mid = lf.get_column("fn_mid") if "fn_mid" in lf.columns else none
    known = known_forenames()
    base = pl.DataFrame({
        "unique_id": lf.get_column("unique_id"), "src": lf.get_column("source_code"),
        "dob": lf.get_column("dob"), "fn": fn, "sex": sex, "mid": full_middle_names(mid),
    }).filter(pl.col("fn").is_not_null() & pl.col("dob").is_not_null()
              & pl.col("src").is_not_null())
    base = base.with_columns(
        n=pl.len().over("fn").cast(pl.Int64), known=pl.col("fn").is_in(list(known)),
        n_dob=pl.col("dob").n_unique().over("fn").cast(pl.Int64))
    if counts is not None:
        base = base.join(counts.select("fn", pl.col("n").cast(pl.Int64).alias("n_all")),
                         on="fn", how="left").with_columns(
            n=pl.max_horizontal("n", pl.col("n_all").fill_null(0))).drop("n_all")
    # a slip carried by more records (Gcorge beside George, and again beside another George:
    # keying makes the same slip of a common name twice) is read only where every record
    # carrying it is read, each beside an established name of its own source and date; so
    # only a name whose every record is on a date of its own can be one (a real name held
    # by a child in two sources repeats its date: at 1 M, weighing every unknown name's
    # records against their source and date took 12 GB)
    slips = base.filter(~pl.col("known") & (
        (pl.col("n") == 1) | ((counts is None) & (pl.col("n_dob") == pl.col("n")))))
    if slips.is_empty():
        return fn
    # what a slip may be read as: an established name, or another record's name as rare as
    # its own (a file holding the child once as Deven and once as Devn), read as the smaller
    # of the two so that both end under one name
    others = base.select(
        "src", "dob", pl.col("fn").alias("to"), pl.col("sex").alias("sex_to"),
        pl.col("mid").alias("mid_to"),
        ((pl.col("n") > 1) | pl.col("known")).alias("established")).unique()
    cand = slips.join(others, on=["src", "dob"], how="inner").filter(
        (pl.col("sex").is_null() | pl.col("sex_to").is_null()
         | (pl.col("sex") == pl.col("sex_to")))
        & (pl.col("fn") != pl.col("to"))
    )
    if cand.is_empty():
        return fn
    # each pair of names weighed once (in Python), however many records carry it
    names = cand.select("fn", "to").unique()
    pairs = list(names.iter_rows())
    names = names.with_columns(
        pl.Series("slip", [is_slip(a, b) for a, b in pairs], dtype=pl.Boolean()),
        pl.Series("any_slip", [is_any_slip(a, b) for a, b in pairs], dtype=pl.Boolean()))
    cand = cand.join(names, on=["fn", "to"], maintain_order="left").filter(
        pl.col("slip") | pl.col("any_slip"))
    wide = cand.filter(~pl.col("slip")).with_row_index("row")
    if not wide.is_empty():
        cand = pl.concat([cand.filter(pl.col("slip")),
                          cand.filter(~pl.col("slip")).join(
                              _one_child_beside(wide, base), on=["unique_id", "to"],
                              how="semi")])
    fixed = (
        cand.group_by("unique_id").agg(pl.col("to").unique(), pl.col("established").all(),
                                       pl.col("fn").first())
        .filter((pl.col("to").list.len() == 1)
                & (pl.col("established") | (pl.col("to").list.first() < pl.col("fn"))))
        .join(slips.select("unique_id", "n", "n_dob"), on="unique_id")
        .filter((pl.col("n") == 1) | (pl.col("established") & (pl.col("n_dob") == pl.col("n"))
                                      & (pl.len().over("fn") == pl.col("n"))))
        .select("unique_id", pl.col("to").list.first())
    )
    return (
        lf.select("unique_id", "fn").join(fixed, on="unique_id", how="left",
                                          maintain_order="left")
        .select(pl.coalesce("to", "fn").alias("fn")).to_series()
    )


def _one_child_beside(wide: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """``unique_id`` and ``to`` of the ``wide`` candidates (a slip of a kind real names
    vary by: a doubled consonant, a vowel for a vowel, the first or last letter, carried by
    one record) whose record is one child's by more than the forename:

    * the same full middle name on both records (twins are not given one middle name); or
    * two other sources or more hold the established name on that date and none of them
      holds the slip (it is carried by one record): twins are registered, and held, alike,
      so a twin whose co-twin two registers hold would be held by them too; and no record
      of any source on that date carries another forename one slip from it (twins
      ``Hana`` and ``Hannah`` held elsewhere make ``Hanna`` either's).

    Bounded: only the few wide candidates join the names of their own date."""
    one = wide.filter(pl.col("n") == 1)
    if one.is_empty():
        return one.select("unique_id", "to")
    same_mid = one.filter((pl.col("mid") == pl.col("mid_to")).fill_null(False))
    keys = one.select("dob", "to").unique()
    held = (
        base.select("dob", pl.col("fn").alias("to"), pl.col("src").alias("src_o"))
        .join(keys, on=["dob", "to"], how="semi").unique()
    )
    by_others = (
        one.select("row", "unique_id", "src", "dob", "fn", "to")
        .join(held, on=["dob", "to"], how="inner")
        .filter(pl.col("src_o") != pl.col("src"))
        .group_by("row", "unique_id", "dob", "fn", "to").agg(pl.col("src_o").n_unique().alias("k"))
        .filter(pl.col("k") >= 2)
    )
    if not by_others.is_empty():
        names = (
            base.select("dob", pl.col("fn").alias("o"))
            .join(by_others.select("dob").unique(), on="dob", how="semi").unique()
        )
        # one slip keeps the length within one and the first letter or the last
        rival = (
            by_others.join(names, on="dob", how="inner")
            .filter((pl.col("o") != pl.col("fn")) & (pl.col("o") != pl.col("to"))
                    & ((pl.col("o").str.len_chars() - pl.col("fn").str.len_chars()).abs() <= 1)
                    & ((pl.col("o").str.head(1) == pl.col("fn").str.head(1))
                       | (pl.col("o").str.tail(1) == pl.col("fn").str.tail(1))))
            .filter(pl.struct("fn", "o").map_elements(
                lambda v: is_any_slip(v["fn"], v["o"]), return_dtype=pl.Boolean()))
            .select("row").unique()
        )
        by_others = by_others.join(rival, on="row", how="anti")
    return pl.concat([same_mid.select("unique_id", "to"),
                      by_others.select("unique_id", "to")]).unique()


def read_slips(lf: pl.DataFrame, counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """``unique_id``, ``fn`` (read: a slip as the forename it mistypes) and ``raw`` (as
    prepared) for every record of ``lf`` (see :func:`slip_forenames`)."""
    return pl.DataFrame({"unique_id": lf.get_column("unique_id"),
                         "fn": slip_forenames(lf, counts), "raw": lf.get_column("fn")})


def lift_school_moves(edges: pl.DataFrame, reading: pl.DataFrame) -> pl.DataFrame:
    """``edges`` (``l``, ``r``, ``vetoed``, ``upn_only``) with the veto lifted where only two
    UPNs stood against the pair and its two forenames are one name once a slip is read
    (``Willlow`` beside ``Willow``): a second UPN after a school move, which the model weighs.
    ``reading``: :func:`read_slips` of the records on either side."""
    read = reading.select(pl.col("unique_id").alias("k"), "fn", "raw")
    return (
        edges.join(read.rename({"k": "l", "fn": "fn_l", "raw": "raw_l"}), on="l", how="left")
        .join(read.rename({"k": "r", "fn": "fn_r", "raw": "raw_r"}), on="r", how="left")
        .with_columns(pl.col("vetoed") & ~(
            pl.col("upn_only") & (pl.col("fn_l") == pl.col("fn_r"))
            & (pl.col("raw_l") != pl.col("raw_r"))).fill_null(False))
        .drop("fn_l", "fn_r", "raw_l", "raw_r")
    )


_VOWELS = frozenset("aeiouy")


def full_middle_names(mid: pl.Series) -> pl.Series:
    """``fn_mid`` where every middle name is written in full (two letters or more), else
    null: an initial is no evidence that two records name one child."""
    return pl.DataFrame({"m": mid}).select(
        pl.when(pl.col("m").str.split(" ").list.eval(pl.element().str.len_chars() >= 2)
                .list.all()).then(pl.col("m")).alias("m")).to_series()


def is_any_slip(slip: str, name: str) -> bool:
    """``slip`` is ``name`` with any one keying slip (one letter added, dropped, replaced, or
    two neighbours swapped; or as a scanner reads it), the kinds :func:`is_slip` refuses
    included: read only where more than the forename says one child (one middle name)."""
    if slip == name or not slip or not name or min(len(slip), len(name)) < 3:
        return False
    return (ocr_key(slip) == ocr_key(name)
            or jellyfish.damerau_levenshtein_distance(slip, name) == 1)


def is_slip(slip: str, name: str) -> bool:
    """``slip`` is ``name`` keyed with one slip of a kind that rarely makes another real name:
    two neighbouring letters swapped (Jfef), a letter scanned as another (Arnelia, CaIvin:
    :func:`.normalise.ocr_key`), a vowel keyed as a consonant or the reverse (Pqige, Amwlia) or
    a consonant as its neighbour on the keyboard (Aisba, Hadsa; not those that sound alike),
    or a letter dropped or added inside the name (Jvon, Devn), when it doubles a vowel
    (Geoorge) or makes a letter three (Willlow). Not: the first letter (Javier, Xavier), the
    last (Amelia, Amelie; Hannah, Hanna), a vowel for a vowel or a consonant for another
    (Aiden, Aidan; Lara, Lana; Jenna, Jemma), a doubled consonant (Hana, Hanna; Lily, Lilly):
    those are how real names vary, and twins are named so."""
    if slip == name or not slip or not name or slip[0] != name[0]:
        return False
    if ocr_key(slip) == ocr_key(name):
        return True
    if jellyfish.damerau_levenshtein_distance(slip, name) != 1:
        return False
    if len(slip) == len(name):
        diff = [i for i in range(len(name)) if slip[i] != name[i]]
        if len(diff) == 2:  # neighbours swapped, never the last two letters only
            return diff[1] < len(name) - 1 or len(name) > 4
        i = diff[0]
        if i == len(name) - 1:
            return False
        a, b = slip[i], name[i]
        return (a in _VOWELS) != (b in _VOWELS) or (
            a not in _VOWELS and frozenset((a, b)) in _NEIGHBOUR_CONSONANTS)
    long, short = (slip, name) if len(slip) > len(name) else (name, slip)
    i = next((j for j in range(len(short)) if long[j] != short[j]), len(short))
    if i == 0 or i >= len(short):  # the first or the last letter
        return False
    extra = long[i]
    if extra != long[i - 1] and extra != long[i + 1]:
        return True
    # a doubled letter: a vowel (Geoorge, Iaan) or a third of a kind (Willlow) is a slip; a
    # doubled consonant is how names vary (Hana, Hanna; Philip, Phillip)
    return _run(long, i) >= 3 or extra in _PLAIN_VOWELS


_PLAIN_VOWELS = frozenset("aeiou")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# consonants side by side on a keyboard (a finger landing on the next key), less the pairs
# that sound alike, which is how names vary (Jenna, Jemma; Isabel, Izabel; Stefan, Stevan)
_SOUND_ALIKE = {frozenset(p) for p in ("mn", "sz", "cx", "bv", "fv")}
_NEIGHBOUR_CONSONANTS = frozenset(
    pair
    for r, row in enumerate(_ROWS)
    for c, key in enumerate(row)
    for other in (
        row[c + 1: c + 2]
        + (_ROWS[r + 1][max(c - 1, 0): c + 1] if r + 1 < len(_ROWS) else "")
    )
    if (pair := frozenset((key, other))) and not (set(pair) & _VOWELS)
    and pair not in _SOUND_ALIKE
)


def _run(word: str, i: int) -> int:
    """Length of the run of ``word[i]``'s letter through position ``i``."""
    left = i
    while left > 0 and word[left - 1] == word[i]:
        left -= 1
    right = i
    while right < len(word) - 1 and word[right + 1] == word[i]:
        right += 1
    return right - left + 1
