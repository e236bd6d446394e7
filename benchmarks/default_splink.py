"""Default Splink 5, as a new user would set it up: the yardstick beside our engine.

Two profiles, one code path (u from 1e7 random pairs, EM on two blocks, p >= 0.5, connected
components):

* ``febrl``: NameComparison with term frequencies on both names, DateOfBirthComparison,
  exact/JW on the address columns; blocks on each name, DOB and the address text. FEBRL4 is
  ``link_only`` between its two files; FEBRL1-3 are ``dedupe_only``.
* ``children``: the children's default of ``reference/linkage.md``: NameComparison on forename
  and surname with term frequencies, DateOfBirthComparison, PostcodeComparison, Jaro-Winkler on
  the first address line, exact NHS number, UPN and sex; seven blocking rules; ``dedupe_only``
  over every source's records at once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import polars as pl

from contactpoint.matching.metrics import Metrics, pairwise_metrics


def components(keys: list[int], pairs: list[tuple[int, int]]) -> dict[int, int]:
    """record key -> smallest key of its connected component."""
    parent = {k: k for k in keys}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {k: find(k) for k in keys}


def _febrl_settings(link_type: str) -> tuple[list[object], list[object], list[object], object]:
    import splink.comparison_library as cl
    from splink import block_on

    blocks = [block_on("given_name"), block_on("family_name"), block_on("dob"),
              block_on("address_line_3")]
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.JaroWinklerAtThresholds("address_line_1", [0.9, 0.8]),
        cl.JaroWinklerAtThresholds("address_line_2", [0.9, 0.8]),
        cl.JaroWinklerAtThresholds("town", [0.9, 0.8]),
        cl.ExactMatch("address_line_3"),
    ]
    em = [block_on("dob"), block_on("given_name", "family_name")]
    prior = [block_on("given_name", "family_name", "dob")]
    return blocks, comparisons, em, prior


def _children_settings() -> tuple[list[object], list[object], list[object], object]:
    import splink.comparison_library as cl
    from splink import block_on

    blocks = [block_on("nhs_number"), block_on("upn"), block_on("given_name", "dob"),
              block_on("family_name", "dob"), block_on("given_name", "family_name"),
              block_on("postcode", "dob"), block_on("postcode", "given_name")]
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.PostcodeComparison("postcode"),
        cl.JaroWinklerAtThresholds("address_line_1", [0.9, 0.8]),
        cl.ExactMatch("nhs_number"),
        cl.ExactMatch("upn"),
        cl.ExactMatch("sex"),
    ]
    em = [block_on("dob"), block_on("given_name", "family_name")]
    prior = [block_on("nhs_number"), block_on("given_name", "family_name", "dob")]
    return blocks, comparisons, em, prior


def run_splink_default(records: pl.DataFrame, truth: pl.DataFrame, tmp: Path, *,
                       profile: str = "febrl", link_sources: tuple[str, str] | None = None,
                       twins: list[tuple[str, str]] | None = None) -> tuple[Metrics, float]:
    """Train and predict with default Splink; score its clusters against ``truth``.

    ``link_sources``: two source codes to link (``link_only``); otherwise ``dedupe_only``
    over the whole frame."""
    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator

    logging.getLogger("splink").setLevel(logging.ERROR)
    t = time.perf_counter()
    df = records.with_columns(
        pl.col("record_key").alias("unique_id"),
        pl.col("date_of_birth").dt.strftime("%Y-%m-%d").alias("dob"),
    ).drop("date_of_birth")
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(tmp / f"splink_default_{profile}.duckdb"))
    con.execute("SET threads = 2")
    db_api = DuckDBAPI(con)
    if link_sources is not None:
        inputs = [db_api.register(df.filter(pl.col("source_code") == code).to_arrow(),
                                  table_name=("a", "b")[i])
                  for i, code in enumerate(link_sources)]
        link_type = "link_only"
    else:
        inputs = [db_api.register(df.to_arrow(), table_name="input_all")]
        link_type = "dedupe_only"
    blocks, comparisons, em, prior = (
        _febrl_settings(link_type) if profile == "febrl" else _children_settings())
    settings = SettingsCreator(
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocks,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(inputs, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(prior, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    for rule in em:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5)
    pairs = con.sql(f"SELECT unique_id_l, unique_id_r FROM {pred.physical_name}").fetchall()
    con.close()
    clusters = components(records["record_key"].to_list(), [(int(x), int(y)) for x, y in pairs])
    return pairwise_metrics(clusters, truth, twins), time.perf_counter() - t
