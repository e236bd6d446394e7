"""Known answers for the pairwise metrics and the constrained union-find."""

from __future__ import annotations

import polars as pl

from contactpoint.linkage.cluster import ConstrainedUnionFind, cluster_edges, signature
from contactpoint.linkage.metrics import pairwise_metrics


def test_pairwise_metrics_known_answer() -> None:
    truth = {1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "c"}
    predicted = {1: 1, 2: 1, 3: 3, 4: 1, 5: 5, 6: 6}
    m = pairwise_metrics(predicted, truth, twins=[("a", "b"), ("a", "c")])
    # true pairs: a:3, b:1 -> 4. predicted: {1,2,4}:3. TP: (1,2) -> 1.
    assert (m.true_pairs, m.predicted_pairs, m.true_positive_pairs) == (4, 3, 1)
    assert m.precision == 1 / 3
    assert m.recall == 1 / 4
    assert m.false_merge_pairs == 2
    assert m.false_split_pairs == 3
    assert m.twins_merged == 1
    assert m.twin_pairs == 2


def test_pairwise_metrics_accepts_frames_and_counts_missing_as_singletons() -> None:
    truth = pl.DataFrame({"record_key": [1, 2, 3], "person": ["x", "x", "y"]})
    predicted = pl.DataFrame({"record_key": [1], "cluster_key": [1]})
    m = pairwise_metrics(predicted, truth)
    assert m.true_pairs == 1
    assert m.predicted_pairs == 0
    assert m.recall == 0.0
    assert m.precision == 1.0


def test_union_find_refuses_conflicting_identifiers_transitively() -> None:
    uf = ConstrainedUnionFind(
        3, nhs=[frozenset({"1"}), frozenset(), frozenset({"2"})]
    )
    refused = cluster_edges(uf, [0, 1], [1, 2])
    assert refused == [1]
    assert uf.find(0) == uf.find(1) != uf.find(2)


def test_union_find_cannot_links_and_same_source_signatures() -> None:
    uf = ConstrainedUnionFind(
        4,
        signatures=[signature("S", "2016-01-01", "hana"), None,
                    signature("S", "2016-01-01", "hanna"), None],
    )
    uf.add_cannot_links([(1, 3)])
    assert uf.union(0, 1) is True
    assert uf.union(2, 3) is True
    assert uf.union(1, 3) is False  # cannot-link between members
    assert uf.union(0, 2) is False  # one source, one DOB, two forenames
    assert uf.union(0, 1) is None


def test_anchored_nodes_never_merge() -> None:
    uf = ConstrainedUnionFind(3, anchored=[True, False, True])
    assert uf.union(0, 1) is True
    assert uf.union(1, 2) is False
