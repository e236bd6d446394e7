"""Children born together: the rules that keep twins apart beyond the pairwise vetoes.

* :data:`MIDDLE_NAMES_CONFLICT` (SQL, in the twin veto) and :func:`middle_names_conflict` (the
  same over polars frames): both records carry middle names that are not one set of names, and
  neither side is only the other's initials;
* :func:`ambiguous_records`: a record whose auto-link candidates include two children born
  together goes to review instead of bridging them;
* :func:`twin_named_alike`: an auto-link edge to the wrong twin, vetoed;
* :func:`named_against_identifier`: a record whose NHS number or UPN names one twin and whose
  forename the other goes to review instead of joining either.

Used by :mod:`.scoring` in household populations (``Rules.household_vetoes``). See
docs/linkage.md, "Vetoes and the twin rule".
"""

from __future__ import annotations

import jellyfish
import polars as pl

# Both records carry middle names, they share none, are not a typo apart, neither side is
# only the other's initials ("I" against "Iqra Ivy", "A" against "Ada"), nor initials that
# the other's names begin (a source that kept only the first middle name: "V T" against
# "Vincent", "A S" against "Aaliyah"), and neither record's
# given name is among the other's middle names: "Ismail Ibrahim" and "Ibrahim Ismail" are one
# child's names in two orders (a calling name written first), not two children's.
MIDDLE_NAMES_CONFLICT = (
    "coalesce(NOT list_has_any(string_split(fn_mid_l, ' '), string_split(fn_mid_r, ' ')) "
    "AND jaro_winkler_similarity(fn_mid_l, fn_mid_r) < 0.85 "
    "AND NOT list_contains(string_split(fn_mid_r, ' '), fn_l) "
    "AND NOT list_contains(string_split(fn_mid_l, ' '), fn_r) "
    "AND NOT ((fn_mid_abbr_l OR fn_mid_abbr_r) "
    "AND (starts_with(fn_mid_ini_r, fn_mid_ini_l) OR starts_with(fn_mid_ini_l, fn_mid_ini_r)))"
    ", false)"
)


# One forename is the other cut short, by three letters or more, at either end (a compound
# name and its calling part: Ayomide and Mide, Oluwaseun and Seun, Alexandra and Sandra),
# and the sexes do not disagree: that is one child's name twice, not two twins' names.
CUT_SHORT = (
    "coalesce(least(length(fn_l), length(fn_r)) >= 3 "
    "AND abs(length(fn_l) - length(fn_r)) >= 3 "
    "AND (starts_with(fn_l, fn_r) OR starts_with(fn_r, fn_l) "
    "OR ends_with(fn_l, fn_r) OR ends_with(fn_r, fn_l)) "
    "AND coalesce(sex_l = sex_r, true), false)"
)


def middle_names_conflict(a: str, b: str) -> pl.Expr:
    """:data:`MIDDLE_NAMES_CONFLICT` over two sets of prepared columns in one frame (``a``,
    ``b`` are suffixes: ``""`` and ``"2"``)."""
    mid, mid2 = pl.col(f"fn_mid{a}"), pl.col(f"fn_mid{b}")
    ini, ini2 = pl.col(f"fn_mid_ini{a}"), pl.col(f"fn_mid_ini{b}")
    abbr, abbr2 = pl.col(f"fn_mid_abbr{a}"), pl.col(f"fn_mid_abbr{b}")
    crossed = (mid2.str.split(" ").list.contains(pl.col(f"fn{a}")).fill_null(False)
               | mid.str.split(" ").list.contains(pl.col(f"fn{b}")).fill_null(False))
    return (
        mid.is_not_null() & mid2.is_not_null() & (mid != mid2) & ~crossed
        & ~((abbr.fill_null(False) | abbr2.fill_null(False))
            & (ini2.str.starts_with(ini) | ini.str.starts_with(ini2)).fill_null(False))
    )


def _both_ways(links: pl.DataFrame) -> pl.DataFrame:
    """Edges ``l``, ``r`` as ``x`` (a record) -> ``y`` (one of its candidates), both ways."""
    return pl.concat([
        links.select(pl.col("l").alias("x"), pl.col("r").alias("y")),
        links.select(pl.col("r").alias("x"), pl.col("l").alias("y")),
    ])


def ambiguous_records(links: pl.DataFrame, lf: pl.DataFrame) -> pl.Series:
    """Records whose auto-link candidates include two *distinct* children: such a record must
    not bridge them; it goes to clerical review instead (household populations).

    ``links``: auto-link edges ``l``, ``r``. Two candidates y1, y2 of a record x are distinct
    children when one source holds both with different forenames (or conflicting middle
    names), the same postcode, surnames that agree (equal or sharing a part: Sayed and
    Al-Sayed) and dates of birth in one year and month or day (a typo in one twin's date): a
    source keeps one record per child, so these are twins. x counts only when its own source also
    holds two records with x's date of birth and surname, or y1 and y2 carry different NHS
    numbers or UPNs: two children are then shown twice over (a source's duplicate of one
    child makes no other record ambiguous). A record sharing an NHS number or UPN with a
    candidate is never ambiguous, and neither is one that names one twin exactly and is no
    nickname or variant of the other's name (Harvey against Harvey and Harry). Catches
    similar-named twins that one source spells alike (Maryam/Mariam, Muhammad/Mohammed,
    Aisha/Alisha, Rose with and without middle names).
    """
    # Only a record with a possible twin in its own source (same year of birth, and the same
    # postcode or a missing one) can be y1 or y2: the others never pass ``same_src_twins``,
    # so they are dropped before the self-join, whose size would otherwise grow with the
    # square of each record's candidates (large children, many sources).
    year = pl.col("dob").str.slice(0, 4)
    paired = lf.filter(
        pl.col("pc").is_null()
        | (pl.len().over("source_code", year, "pc") > 1)
        | (pl.col("pc").is_null().sum().over("source_code", year) > 0)
    )
    attrs = paired.select(
        pl.col("unique_id").alias("y"), pl.col("source_code").alias("src"), "dob", "sn",
        "sn_names", "pc", pl.col("fn").fill_null(""), "fn_canon", "fn_mid", "fn_mid_ini",
        "fn_mid_abbr", "nhs", "upn",
    )
    ids = lf.select(pl.col("unique_id").alias("y"), "nhs", "upn")
    x_ids = ids.rename({"y": "x", "nhs": "x_nhs", "upn": "x_upn"})
    anchored = _both_ways(links).join(ids, on="y").join(x_ids, on="x").filter(
        (pl.col("x_nhs") == pl.col("nhs")).fill_null(False)
        | (pl.col("x_upn") == pl.col("upn")).fill_null(False)
    ).select("x").unique()
    # The self-join runs on keys alone: y1 and y2 must share a source and a year of birth
    # (``same_src_twins``; a null never passes it), so those join too, and the few pairs left
    # take their attributes afterwards. Joining the wide rows made the run's peak memory.
    keyed = (
        _both_ways(links)
        .join(paired.select(pl.col("unique_id").alias("y"), pl.col("source_code").alias("src"),
                            year.alias("yr")), on="y", how="inner")
        .join(anchored, on="x", how="anti")
    )
    attrs2 = attrs.rename({c: f"{c}2" for c in attrs.columns})
    pairs = (
        keyed.join(keyed, on=["x", "src", "yr"], suffix="2")
        .filter(pl.col("y") < pl.col("y2"))
        .select("x", "y", "y2")
        .join(attrs, on="y").join(attrs2, on="y2")
    )
    pairs = pairs.join(_own_source_sets(lf, pairs.select("x").unique()), on="x")
    same_src_twins = (
        (pl.col("src") == pl.col("src2")) & _born_together("dob", "dob2")
        & _surnames_agree("sn_names", "sn_names2")
        & (pl.col("pc").is_null() | pl.col("pc2").is_null() | (pl.col("pc") == pl.col("pc2")))
        & (
            (pl.col("fn") != pl.col("fn2")) | middle_names_conflict("", "2")
        )
    )
    # y1, y2 carrying two valid identifiers are two children whatever x's source holds
    two_ids = (pl.col("nhs") != pl.col("nhs2")).fill_null(False) | (
        pl.col("upn") != pl.col("upn2")
    ).fill_null(False)
    shown = pl.col("x_twin_set") | two_ids
    doubtful = pairs.filter(same_src_twins.fill_null(False) & shown)
    # x names one twin exactly and the other's name is neither a variant of it nor a typo or
    # a sound away (Ibrahim against Ibrahim and Yusuf): no doubt which child it is. Olive
    # against Olive and Olivia, or Muhammed between Muhammad and Mohammed, stays in doubt.
    # Nor is there doubt when x's own source holds the two children under the very names
    # y1's source gives them (Aisha and Alisha in both): x names y1 exactly and the record
    # beside x names y2 exactly, so the two sources tell the twins apart alike; only both
    # twins' names swapped in one source would make that wrong.
    # (twins under one forename, told apart by middle names only, are never clear this way)
    told_apart = pl.col("fn") != pl.col("fn2")
    clear = (
        ((pl.col("x_fn") == pl.col("fn")) & (
            _names_apart("x_fn", "x_canon", "fn2", "fn_canon2")
            | (told_apart & pl.col("x_set_names").list.contains(pl.col("fn2")))))
        | ((pl.col("x_fn") == pl.col("fn2")) & (
            _names_apart("x_fn", "x_canon", "fn", "fn_canon")
            | (told_apart & pl.col("x_set_names").list.contains(pl.col("fn")))))
    )
    return doubtful.filter(~clear.fill_null(False)).get_column("x").unique()


def _own_source_sets(lf: pl.DataFrame, xs: pl.DataFrame) -> pl.DataFrame:
    """Of each record ``x`` in ``xs``: its forename (``x_fn``, ``x_canon``), whether its own
    source holds another record born that day under that surname (``x_twin_set``: two sources
    then show two children; a within-source duplicate of y shows in y's source only), and the
    forenames its source holds on that date under that surname (``x_set_names``). Grouped
    over the records of those sets only, not the nation's."""
    sets = ["source_code", "dob", "sn"]
    own = xs.join(lf.select(pl.col("unique_id").alias("x"), pl.col("fn").alias("x_fn"),
                            pl.col("fn_canon").alias("x_canon"), *sets), on="x")
    held = (
        lf.join(own.select(sets).unique(), on=sets, how="semi", nulls_equal=True)
        .group_by(sets)
        .agg((pl.len() > 1).alias("x_twin_set"),
             pl.col("fn").fill_null("").alias("x_set_names"))
    )
    return own.join(held, on=sets, how="left", nulls_equal=True).drop(sets)


def _names_apart(a: str, a_canon: str, b: str, b_canon: str) -> pl.Expr:
    """Two forenames that are not one name: other groups, more than one edit apart, and
    Jaro-Winkler below 0.85 (the forename comparison's own lowest name level)."""
    pair = pl.struct(pl.col(a).alias("a"), pl.col(b).alias("b"))
    close = pair.map_elements(
        lambda v: bool(v["a"] and v["b"] and (
            jellyfish.damerau_levenshtein_distance(v["a"], v["b"]) <= 1
            or jellyfish.jaro_winkler_similarity(v["a"], v["b"]) >= 0.85)),
        return_dtype=pl.Boolean(),
    )
    return (pl.col(a_canon) != pl.col(b_canon)) & ~close


def _born_together(a: str, b: str) -> pl.Expr:
    """Two ISO date columns that may be one birth: the same year, and the same month or the
    same day (one twin's date mistyped). Siblings a year apart on one birthday are not."""
    return (pl.col(a).str.slice(0, 4) == pl.col(b).str.slice(0, 4)) & (
        (pl.col(a).str.slice(5, 2) == pl.col(b).str.slice(5, 2))
        | (pl.col(a).str.slice(8, 2) == pl.col(b).str.slice(8, 2))
    )


def _surnames_agree(a: str, b: str) -> pl.Expr:
    """Surname part lists share a part (Sayed, Al-Sayed)."""
    return pl.col(a).list.set_intersection(pl.col(b)).list.len() > 0


def twin_named_alike(links: pl.DataFrame, lf: pl.DataFrame) -> pl.DataFrame:
    """Auto-link edges (x, y1) to veto: x's forename is not y1's but is exactly that of y1's
    twin y2, a record in y1's source with the same postcode, an agreeing surname, a date of
    birth in the same year and month or day as y1's, and another forename. x is then y2's
    (one twin's date mistyped can make the other twin's agree exactly with x) or a third
    child's, never y1's (household populations). Returns ``l``, ``r`` with ``l < r``."""
    attrs = lf.select(
        pl.col("unique_id").alias("y"), pl.col("source_code").alias("src"), "pc", "dob",
        "sn_names", "fn", "nhs", "upn",
    ).filter(pl.col("pc").is_not_null() & pl.col("fn").is_not_null())
    both = _both_ways(links)
    x_attrs = lf.select(pl.col("unique_id").alias("x"), pl.col("fn").alias("x_fn"),
                        pl.col("nhs").alias("x_nhs"), pl.col("upn").alias("x_upn"))
    shares_id = (pl.col("x_nhs") == pl.col("nhs")).fill_null(False) | (
        pl.col("x_upn") == pl.col("upn")
    ).fill_null(False)
    cand = (
        both.join(x_attrs, on="x").join(attrs, on="y")
        .filter(pl.col("x_fn").is_not_null() & (pl.col("x_fn") != pl.col("fn")) & ~shares_id)
        .drop("nhs", "upn", "x_nhs", "x_upn")
    )
    twins = cand.join(
        attrs.drop("nhs", "upn").rename(
            {"y": "y2", "dob": "dob2", "sn_names": "sn_names2", "fn": "fn2"}),
        left_on=["src", "pc", "x_fn"], right_on=["src", "pc", "fn2"],
    ).filter(
        (pl.col("y2") != pl.col("y")) & (pl.col("y2") != pl.col("x"))
        & _born_together("dob", "dob2") & _surnames_agree("sn_names", "sn_names2")
    )
    return twins.select(
        pl.min_horizontal("x", "y").alias("l"), pl.max_horizontal("x", "y").alias("r")
    ).unique()


def named_against_identifier(links: pl.DataFrame, lf: pl.DataFrame) -> pl.Series:
    """Records whose identifier names one twin and whose forename the other.

    x shares an NHS number or UPN with an auto-link candidate y1 under another forename (not
    a variant of it); a record b at that postcode, born together with y1 (whatever its
    surname: one twin's may be mistyped), named as x (or by a variant of x's name), carries
    its own, different identifier of that kind; and b's source also holds a record named as
    y1 (not x), born together at that postcode. That source knows both children, and the one
    x names holds another number: x's is y1's, keyed on the wrong twin's record (a CAMHS
    record of Mia under her twin Bridgett's NHS number while PDS holds Bridgett and Mia under
    their own; a census record of Hana written ``Hanna`` under Hana's UPN). Unless x also
    shares an identifier with a record named as x (its identity corroborated), x is in
    doubt: it goes to review rather than join either twin. A child's second record under a
    second number (``Feliix`` beside ``Felix`` in PDS) is no twin: no source names both.
    Returns the keys of such records x (household populations)."""
    ids = lf.select(pl.col("unique_id").alias("x"), pl.col("fn").alias("x_fn"),
                    pl.col("fn_canon").alias("x_canon"), pl.col("nhs").alias("x_nhs"),
                    pl.col("upn").alias("x_upn"))
    ys = lf.select(pl.col("unique_id").alias("y"), "fn", "fn_canon", "nhs", "upn", "pc", "dob")
    shared = (
        _both_ways(links).join(ids, on="x").join(ys, on="y")
        .with_columns((pl.col("x_nhs") == pl.col("nhs")).fill_null(False).alias("by_nhs"),
                      (pl.col("x_upn") == pl.col("upn")).fill_null(False).alias("by_upn"))
        .filter(pl.col("by_nhs") | pl.col("by_upn"))
    )
    same_name = (pl.col("x_fn") == pl.col("fn")) | (pl.col("x_canon") == pl.col("fn_canon"))
    corroborated = shared.filter(same_name.fill_null(False)).select("x").unique()
    against = shared.filter(~same_name.fill_null(True) & pl.col("pc").is_not_null()).join(
        corroborated, on="x", how="anti").select(
        "x", "x_fn", "x_canon", "x_nhs", "x_upn", "by_nhs", "by_upn", pl.col("fn").alias("y_fn"),
        "pc", "dob")
    recs = lf.select(pl.col("unique_id").alias("b"), pl.col("source_code").alias("src"), "pc",
                     pl.col("dob").alias("dob_b"), pl.col("fn").alias("fn_b"),
                     pl.col("fn_canon").alias("canon_b"),
                     pl.col("nhs").alias("nhs_b"), pl.col("upn").alias("upn_b"))
    kept = ["x", "x_nhs", "x_upn", "by_nhs", "by_upn", "y_fn", "pc", "dob", "b", "src",
            "dob_b", "nhs_b", "upn_b"]
    named_as_x = pl.concat([
        against.join(recs.drop("canon_b"), left_on=["pc", "x_fn"],
                     right_on=["pc", "fn_b"]).select(kept),
        against.join(recs, left_on=["pc", "x_canon"], right_on=["pc", "canon_b"])
        .filter(pl.col("fn_b") != pl.col("x_fn")).select(kept),
    ])
    holds_another = (
        (pl.col("by_nhs") & (pl.col("nhs_b") != pl.col("x_nhs")).fill_null(False))
        | (pl.col("by_upn") & (pl.col("upn_b") != pl.col("x_upn")).fill_null(False))
    )
    other_child = named_as_x.filter(
        (pl.col("b") != pl.col("x")) & _born_together("dob", "dob_b") & holds_another
    )
    named_as_y = recs.select(pl.col("b").alias("a"), "src", "pc", pl.col("fn_b").alias("y_fn"),
                             pl.col("dob_b").alias("dob_a"))
    both_named = other_child.join(named_as_y, on=["src", "pc", "y_fn"]).filter(
        (pl.col("a") != pl.col("x")) & _born_together("dob", "dob_a"))
    return both_named.get_column("x").unique()
