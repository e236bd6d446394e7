"""The ambiguity rule joins keys, not wide rows (issue 18, peak memory of a first run): the
same records come out as from the wide self-join it replaced, kept here as the oracle."""

from __future__ import annotations

import polars as pl

from contactpoint.matching.normalise import prepare
from contactpoint.matching.twins import (
    _born_together,
    _both_ways,
    _names_apart,
    _surnames_agree,
    ambiguous_records,
    middle_names_conflict,
)


def _wide_ambiguous_records(links: pl.DataFrame, lf: pl.DataFrame) -> pl.Series:
    """The rule as it was written before (commit 6408a18): every candidate's attributes
    joined, then the candidates of each record joined with each other."""
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
    both = _both_ways(links).join(attrs, on="y", how="inner")
    own = lf.select(
        pl.col("unique_id").alias("x"), pl.col("nhs").alias("x_nhs"),
        pl.col("upn").alias("x_upn"), pl.col("fn").alias("x_fn"),
        pl.col("fn_canon").alias("x_canon"),
        (pl.len().over("source_code", "dob", "sn") > 1).alias("x_twin_set"),
    )
    both = both.join(own, on="x", how="inner")
    ids = lf.select(pl.col("unique_id").alias("y"), "nhs", "upn")
    anchored = _both_ways(links).join(ids, on="y").join(own, on="x").filter(
        (pl.col("x_nhs") == pl.col("nhs")).fill_null(False)
        | (pl.col("x_upn") == pl.col("upn")).fill_null(False)
    ).select("x").unique()
    cand = both.join(anchored, on="x", how="anti").drop("x_nhs", "x_upn")
    pairs = cand.join(cand, on="x", suffix="2").filter(pl.col("y") < pl.col("y2"))
    same_src_twins = (
        (pl.col("src") == pl.col("src2")) & _born_together("dob", "dob2")
        & _surnames_agree("sn_names", "sn_names2")
        & (pl.col("pc").is_null() | pl.col("pc2").is_null() | (pl.col("pc") == pl.col("pc2")))
        & ((pl.col("fn") != pl.col("fn2")) | middle_names_conflict("", "2"))
    )
    two_ids = (pl.col("nhs") != pl.col("nhs2")).fill_null(False) | (
        pl.col("upn") != pl.col("upn2")
    ).fill_null(False)
    doubtful = pairs.filter(same_src_twins.fill_null(False) & (pl.col("x_twin_set") | two_ids))
    clear = (
        ((pl.col("x_fn") == pl.col("fn")) & _names_apart("x_fn", "x_canon", "fn2", "fn_canon2"))
        | ((pl.col("x_fn") == pl.col("fn2")) & _names_apart("x_fn", "x_canon", "fn", "fn_canon"))
    )
    return doubtful.filter(~clear.fill_null(False)).get_column("x").unique()


def _household_links(lf: pl.DataFrame) -> pl.DataFrame:
    """Every pair of records sharing a surname and a postcode: far more edges than the engine
    would auto-link, so that twins, siblings and duplicates all meet as candidates."""
    keyed = lf.select("unique_id", "sn", "pc").drop_nulls()
    return (
        keyed.join(keyed, on=["sn", "pc"], suffix="_r")
        .filter(pl.col("unique_id") < pl.col("unique_id_r"))
        .select(pl.col("unique_id").alias("l"), pl.col("unique_id_r").alias("r"))
    )


def test_the_key_join_finds_the_records_the_wide_join_found(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
) -> None:
    records, _, _ = synth_population
    lf = prepare(records)
    links = _household_links(lf)
    expected = sorted(_wide_ambiguous_records(links, lf).to_list())
    got = ambiguous_records(links, lf)
    assert len(expected) > 20  # the population holds twins that these edges bridge
    assert sorted(got.to_list()) == expected
    assert got.n_unique() == got.len()


def test_the_same_records_when_every_link_crosses_sources(
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
) -> None:
    records, _, _ = synth_population
    lf = prepare(records)
    # each record linked only to records of other sources (x never in y1 and y2's source)
    keyed = lf.select("unique_id", "sn", "pc", "source_code").drop_nulls()
    links = (
        keyed.join(keyed, on=["sn", "pc"], suffix="_r")
        .filter((pl.col("unique_id") < pl.col("unique_id_r"))
                & (pl.col("source_code") != pl.col("source_code_r")))
        .select(pl.col("unique_id").alias("l"), pl.col("unique_id_r").alias("r"))
    )
    wide = _wide_ambiguous_records(links, lf)
    assert wide.len() > 0
    assert sorted(ambiguous_records(links, lf).to_list()) == sorted(wide.to_list())
