"""Pairwise linkage accuracy, computed exactly from group sizes (no pair enumeration).

A *pair* is two records. True pairs share a person in the truth; predicted pairs share a
cluster. ``TP = sum over (cluster, person) cells of C(n, 2)``; precision = TP / predicted pairs,
recall = TP / true pairs. Records in the truth but absent from the prediction count as
singletons; records absent from the truth are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Metrics:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    false_merge_pairs: int
    false_split_pairs: int
    records: int
    persons: int
    clusters: int
    twins_merged: int | None = None
    twin_pairs: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _frame(mapping: Mapping[Any, Any] | pl.DataFrame, value: str) -> pl.DataFrame:
    if isinstance(mapping, pl.DataFrame):
        cols = mapping.columns
        return mapping.select(
            pl.col(cols[0]).cast(pl.Utf8).alias("record"),
            pl.col(cols[1]).cast(pl.Utf8).alias(value),
        )
    return pl.DataFrame(
        {"record": [str(k) for k in mapping], value: [str(v) for v in mapping.values()]},
        schema={"record": pl.Utf8, value: pl.Utf8},
    )


def _pairs(col: pl.Expr) -> pl.Expr:
    return (col * (col - 1) // 2).sum()


def pairwise_metrics(
    predicted: Mapping[Any, Any] | pl.DataFrame,
    truth: Mapping[Any, Any] | pl.DataFrame,
    twins: Iterable[tuple[Any, Any]] | None = None,
) -> Metrics:
    """Exact pairwise precision/recall/F1.

    ``predicted``: record -> cluster; ``truth``: record -> person (dicts, or two-column
    DataFrames in that order). ``twins``: pairs of *person* ids who are twins/triplets
    (each pair of a multiple birth listed once); ``twins_merged`` counts those pairs with at
    least one record of each in the same predicted cluster.
    """
    t = _frame(truth, "person")
    p = _frame(predicted, "cluster")
    joined = t.join(p, on="record", how="left").with_columns(
        pl.coalesce(pl.col("cluster"), pl.lit("__single__") + pl.col("record")).alias("cluster")
    )
    true_pairs = int(joined.group_by("person").len().select(_pairs(pl.col("len"))).item() or 0)
    pred_pairs = int(joined.group_by("cluster").len().select(_pairs(pl.col("len"))).item() or 0)
    tp = int(
        joined.group_by(["cluster", "person"]).len().select(_pairs(pl.col("len"))).item() or 0
    )
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    twins_merged: int | None = None
    twin_pairs: int | None = None
    if twins is not None:
        tw = pl.DataFrame(
            [(str(a), str(b)) for a, b in twins], schema={"a": pl.Utf8, "b": pl.Utf8}, orient="row"
        )
        twin_pairs = tw.height
        pc = joined.select("person", "cluster").unique()
        merged = (
            tw.join(pc.rename({"person": "a", "cluster": "ca"}), on="a")
            .join(pc.rename({"person": "b", "cluster": "cb"}), on="b")
            .filter(pl.col("ca") == pl.col("cb"))
            .select("a", "b")
            .unique()
        )
        twins_merged = merged.height
    return Metrics(
        precision=precision,
        recall=recall,
        f1=f1,
        true_pairs=true_pairs,
        predicted_pairs=pred_pairs,
        true_positive_pairs=tp,
        false_merge_pairs=pred_pairs - tp,
        false_split_pairs=true_pairs - tp,
        records=joined.height,
        persons=int(joined["person"].n_unique()),
        clusters=int(joined["cluster"].n_unique()),
        twins_merged=twins_merged,
        twin_pairs=twin_pairs,
    )
