"""Known answers for the pairwise metrics and the constrained union-find."""

from __future__ import annotations

import random

import polars as pl

from contactpoint.matching.cluster import ConstrainedUnionFind, cluster_edges, signature
from contactpoint.matching.metrics import pairwise_metrics


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


def test_two_upns_join_only_under_one_forename_and_date() -> None:
    """A school move can give a child a second UPN: two UPNs join when both sides name the
    same forename on the same date of birth; twins and siblings never do. Two NHS numbers
    never join."""
    upns = [frozenset({"u1"}), frozenset({"u2"})]
    same = [frozenset({("albie", "2015-01-01")}), frozenset({("albie", "2015-01-01")})]
    twins = [frozenset({("aisha", "2015-01-01")}), frozenset({("alisha", "2015-01-01")})]
    assert ConstrainedUnionFind(2, upn=list(upns), persons=same).union(0, 1) is True
    assert ConstrainedUnionFind(2, upn=list(upns), persons=twins).union(0, 1) is False
    assert ConstrainedUnionFind(2, upn=list(upns)).union(0, 1) is False
    nhs = [frozenset({"n1"}), frozenset({"n2"})]
    assert ConstrainedUnionFind(2, nhs=nhs, persons=same).union(0, 1) is False


def test_two_upns_of_one_allocation_never_join_even_under_one_forename() -> None:
    """Two UPNs allocated by one school in one year (characters 2-10 alike) are two pupils:
    twins admitted together, whatever the records call them."""
    same = [frozenset({("hanna", "2022-05-29")}), frozenset({("hanna", "2022-05-29")})]
    one_school = [frozenset({"C886210226010"}), frozenset({"R886210226011"})]
    moved = [frozenset({"C886210226010"}), frozenset({"K886330121004"})]
    assert ConstrainedUnionFind(2, upn=list(one_school), persons=same).union(0, 1) is False
    assert ConstrainedUnionFind(2, upn=list(moved), persons=same).union(0, 1) is True


def test_a_shared_identifier_lifts_one_record_per_source() -> None:
    """One source holding two records on one DOB under two names is two children, unless the
    two share an NHS number or UPN: then it is the source's own duplicate of one child."""
    sig = [signature("CHB", "2015-01-01", "hana"), signature("CHB", "2015-01-01", "hanna")]
    assert ConstrainedUnionFind(2, signatures=list(sig)).union(0, 1) is False
    shared = [frozenset({"n1"}), frozenset({"n1"})]
    sig = [signature("CHB", "2015-01-01", "hana"), signature("CHB", "2015-01-01", "hanna")]
    assert ConstrainedUnionFind(2, nhs=shared, signatures=sig).union(0, 1) is True


def _named(*names: str) -> list[frozenset[tuple[str, str]]]:
    return [frozenset({(n, "2024-09-17")}) for n in names]


def test_a_name_veto_is_moot_where_the_merge_equates_the_names() -> None:
    """``Mia`` (health visiting) and ``Amelia`` (PDS) share an NHS number: one child. Child
    benefit's ``Amelia`` on that date, vetoed against ``Mia`` by the names alone (the twin
    pattern), joins them in either order: the cluster already says Mia is Amelia."""
    nhs = [frozenset({"n1"}), frozenset({"n1"}), frozenset()]
    for order in ([(0, 1), (1, 2)], [(1, 2), (0, 1)]):
        uf = ConstrainedUnionFind(3, nhs=list(nhs), persons=_named("mia", "amelia", "amelia"))
        uf.add_soft_cannot_links([(0, 2)])
        assert [uf.union(a, b) for a, b in order] == [True, True], order
        assert len(set(uf.roots())) == 1


def test_a_name_veto_is_moot_where_the_other_cluster_gives_the_name_as_a_middle_name() -> None:
    """``Ruqi`` and ``Ruqayyah Iman`` share an NHS number; child benefit's ``Iman`` on that
    date (vetoed against ``Ruqi`` by the names alone) is the child PDS calls Ruqayyah Iman."""
    nhs = [frozenset({"n1"}), frozenset({"n1"}), frozenset()]
    middles = [frozenset(), frozenset({"iman"}), frozenset()]
    uf = ConstrainedUnionFind(3, nhs=nhs, persons=_named("ruqi", "ruqayyah", "iman"),
                              middles=middles)
    uf.add_soft_cannot_links([(0, 2)])
    assert uf.union(0, 1) is True
    assert uf.union(1, 2) is True
    no_middle = ConstrainedUnionFind(3, nhs=list(nhs), persons=_named("ruqi", "ruqayyah", "iman"))
    no_middle.add_soft_cannot_links([(0, 2)])
    assert no_middle.union(0, 1) is True
    assert no_middle.union(1, 2) is False


def test_a_name_veto_is_moot_where_the_other_cluster_gives_a_variant_of_the_name() -> None:
    """GRO's ``Aiha`` (a slip) and PDS's ``Ayesha`` share an NHS number; child benefit's
    ``Aysha``, vetoed against ``Aiha`` by the names alone, is a variant of ``Ayesha``."""
    nhs = [frozenset({"n1"}), frozenset({"n1"}), frozenset()]
    persons = _named("aiha", "ayesha", "aysha")
    uf = ConstrainedUnionFind(3, nhs=list(nhs), persons=list(persons),
                              canons=["aiha", "aisha", "aisha"])
    uf.add_soft_cannot_links([(0, 2)])
    assert uf.union(0, 1) is True
    assert uf.union(1, 2) is True
    # PDS's Cornfort Adetoun (a scanned Comfort) and CAMHS's Adetoun share an NHS number: the
    # census's Comfort, vetoed against Adetoun by the names alone, joins them
    scanned = ConstrainedUnionFind(
        3, nhs=list(nhs), persons=_named("adetoun", "cornfort", "comfort"),
        ocr=["adetoun", "comfort", "comfort"])
    scanned.add_soft_cannot_links([(0, 2)])
    assert scanned.union(0, 1) is True
    assert scanned.union(1, 2) is True
    # twins named as variants of one name, told apart by their middle names (Muhammad Ali,
    # Mohammed Omar): the variant group says nothing about the veto, which holds
    twins = ConstrainedUnionFind(3, persons=_named("muhammad", "muhammad", "mohammed"),
                                 canons=["muhammad", "muhammad", "muhammad"])
    twins.add_soft_cannot_links([(0, 2)])
    assert twins.union(0, 1) is True
    assert twins.union(1, 2) is False
    plain = ConstrainedUnionFind(3, nhs=list(nhs), persons=list(persons))
    plain.add_soft_cannot_links([(0, 2)])
    assert plain.union(0, 1) is True
    assert plain.union(1, 2) is False


def test_a_name_veto_holds_where_nothing_equates_the_names() -> None:
    """Twins ``Amelia`` and ``Mia``: a third record ``Amelia`` joins the first; nothing ties
    ``Mia`` to that name but a weaker link, so the veto (soft or not) refuses it. A veto
    by an identifier is never moot."""
    uf = ConstrainedUnionFind(3, persons=_named("amelia", "amelia", "mia"))
    uf.add_soft_cannot_links([(0, 2)])
    assert uf.union(0, 1) is True
    assert uf.union(1, 2) is False
    one_name = ConstrainedUnionFind(3, persons=_named("amelia", "amelia", "amelia"))
    one_name.add_soft_cannot_links([(0, 2)])  # a middle-name conflict under one forename
    assert one_name.union(0, 1) is True
    assert one_name.union(1, 2) is False
    hard = ConstrainedUnionFind(3, persons=_named("mia", "amelia", "amelia"))
    hard.add_cannot_links([(0, 2)])
    assert hard.union(1, 2) is True
    assert hard.union(0, 1) is False


def test_anchored_nodes_never_merge() -> None:
    uf = ConstrainedUnionFind(3, anchored=[True, False, True])
    assert uf.union(0, 1) is True
    assert uf.union(1, 2) is False


def _partition(roots: list[int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node, root in enumerate(roots):
        groups.setdefault(root, set()).add(node)
    return {frozenset(g) for g in groups.values()}


def test_conflict_free_components_shortcut_equals_edge_by_edge() -> None:
    """Batch clustering sends only components that could hold a conflict through the
    union-find: the clusters and the refused edges must be exactly those of sending all."""
    from contactpoint.matching.scoring import _constrained_roots

    rng = random.Random(7)
    n = 3_000
    nodes = pl.DataFrame({  # few identifiers, sources and dates: plenty of conflicts
        "nhs": [rng.choice([None, None, None, "n1", "n2", "n3"]) for _ in range(n)],
        "upn": [rng.choice([None, None, None, None, "u1", "u2"]) for _ in range(n)],
        "source_code": [rng.choice([None, "A", "B", "C"]) for _ in range(n)],
        "dob": [rng.choice([None, "2015-01-01", "2015-01-02"]) for _ in range(n)],
        "fn": [rng.choice([None, "amy", "ann", "amy"]) for _ in range(n)],
    })
    # small neighbourhoods (many components) and a few long-range edges
    edges = [(i, min(n - 1, i + rng.randint(1, 3))) for i in range(0, n, 2)]
    edges += [(rng.randrange(n), rng.randrange(n)) for _ in range(40)]
    edges = [(a, b) for a, b in edges if a != b]
    rng.shuffle(edges)
    linkable = pl.DataFrame({"il": [a for a, _ in edges], "ir": [b for _, b in edges]})
    cannot_pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(300)]
    cannot_pairs += [(a, b) for a, b in edges[:60]]
    cannot = pl.DataFrame({"il": [a for a, _ in cannot_pairs], "ir": [b for _, b in cannot_pairs]})

    root, refused = _constrained_roots(nodes, linkable, cannot)

    uf = ConstrainedUnionFind(
        n,
        nhs=[frozenset((v,)) if v else frozenset() for v in nodes["nhs"]],
        upn=[frozenset((v,)) if v else frozenset() for v in nodes["upn"]],
        signatures=[signature(s, d, f) for s, d, f in
                    zip(nodes["source_code"], nodes["dob"], nodes["fn"], strict=True)],
        persons=[frozenset({(f, d)}) if f is not None and d is not None else frozenset()
                 for f, d in zip(nodes["fn"], nodes["dob"], strict=True)],
    )
    uf.add_cannot_links(cannot_pairs)
    expected_refused = cluster_edges(uf, linkable["il"].to_list(), linkable["ir"].to_list())
    assert len(expected_refused) > 20  # the case has conflicts to refuse
    assert refused == expected_refused
    assert _partition(root.to_list()) == _partition(uf.roots())
    assert len(_partition(uf.roots())) < n - 500  # and plenty of merges
