"""Constrained clustering: union-find that never merges across a veto.

Edges are processed by descending probability. Two clusters are merged only when

* their NHS-number sets do not conflict (both non-empty and disjoint = conflict); nor their
  UPN sets, unless the two sides name the same forename on the same date of birth (a school
  move can give one child a second UPN; twins and siblings never share both); a shared UPN
  or NHS number lifts the one-record-per-source rule below;
* no cannot-link pair (a vetoed pair: different identifiers, or the twin pattern) has one
  record in each. A *soft* cannot-link (vetoed by the names alone: the twin pattern or no
  person evidence, no identifier against it) does not count when the merge itself already
  equates the two (different) forenames on that date: the other cluster holds a record
  under the vetoed record's forename and date of birth, or with that forename among its
  middle names (``Ruqayyah Iman`` beside ``Ruqi``: ``Iman`` is no twin of ``Ruqi``), or
  under a variant of it (``Ayesha`` for ``Aysha``) or as a scanner reads it (``Cornfort`` for
  ``Comfort``), never where the two are variants of one name themselves; or the
  merging edge joins records named exactly as the two through a shared NHS number or UPN
  (``Mia`` with ``Amelia``: a third record ``Amelia`` on that date is no twin of ``Mia``
  then), or through a middle name (``Ayaan Arjun`` with ``Arjun``: a third record ``Ayaan``
  is no twin of ``Arjun``). A middle-name conflict under one forename is never moot;
* no source holds, in the two clusters, two records with the same date of birth and different
  forenames (twins may be named as variants of one name: Muhammad and Mohammed): those are
  two children born together, and this keeps similar-named twins such as Hana/Hanna apart
  across sources;
* at most one of them is *anchored* (an existing child in incremental matching: existing
  children are never merged with each other by the engine).

So A-B and B-C linked never pulls A and C together when A and C carry different NHS numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from contactpoint.domain.identifiers import upn_allocation

_CANON = "~"  # marks a variant group among the names a cluster gives
_OCR = "%"  # marks a forename as scanned (Cornfort: Comfort; Muharnmad: Muhammad)


@dataclass
class ConstrainedUnionFind:
    size: int
    nhs: list[frozenset[str]] = field(default_factory=list)
    upn: list[frozenset[str]] = field(default_factory=list)
    anchored: list[bool] = field(default_factory=list)
    # per node: {source: {(dob, forename), ...}}; None when the node carries no signature
    signatures: list[dict[str, set[tuple[str, str]]] | None] = field(default_factory=list)
    # per node: the (forename, date of birth) it names; two UPNs are one child only when the
    # two sides name the same forename on the same date (a second UPN after a school move)
    persons: list[frozenset[tuple[str, str]]] = field(default_factory=list)
    # per node: its middle names (a record naming another's forename as a middle name
    # equates the two names: Ayaan Arjun with Arjun)
    middles: list[frozenset[str]] = field(default_factory=list)
    # per node: its forename's variant group (Aisha, Ayesha, Aysha: one group)
    canons: list[str | None] = field(default_factory=list)
    # per node: its forename as scanned (:func:`.normalise.ocr_key`: ``rn`` read as ``m``)
    ocr: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.parent = list(range(self.size))
        self.members: dict[int, list[int]] = {}
        self.cannot: dict[int, set[int]] = {}
        self.soft: set[tuple[int, int]] = set()
        empty: frozenset[str] = frozenset()
        empty_person: frozenset[tuple[str, str]] = frozenset()
        if not self.nhs:
            self.nhs = [empty] * self.size
        if not self.upn:
            self.upn = [empty] * self.size
        if not self.anchored:
            self.anchored = [False] * self.size
        if not self.signatures:
            self.signatures = [None] * self.size
        if not self.persons:
            self.persons = [empty_person] * self.size
        # each node's own (forename, DOB) and identifiers, never merged
        self.own = list(self.persons)
        self.own_ids = [n | u for n, u in zip(self.nhs, self.upn, strict=True)]
        if not self.middles:
            self.middles = [frozenset()] * self.size
        # per root: every (name, DOB) its records give, forenames and middle names alike
        if not self.canons:
            self.canons = [None] * self.size
        if not self.ocr:
            self.ocr = [None] * self.size
        self.named = [own | {(mid, dob) for mid in self.middles[i] for _, dob in own}
                      | self._keys(i) for i, own in enumerate(self.own)]

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def add_cannot_links(self, pairs: Iterable[tuple[int, int]]) -> None:
        for a, b in pairs:
            self.cannot.setdefault(a, set()).add(b)
            self.cannot.setdefault(b, set()).add(a)

    def add_soft_cannot_links(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Cannot-link pairs vetoed by the names alone (see the module's docstring)."""
        for a, b in pairs:
            self.add_cannot_links(((a, b),))
            self.soft.add((min(a, b), max(a, b)))

    def _members(self, root: int) -> list[int]:
        return self.members.get(root, [root])

    def _tags(self, x: int) -> frozenset[str]:
        """``x``'s forename's variant group and scanned form, tagged."""
        c, o = self.canons[x], self.ocr[x]
        return frozenset(([_CANON + c] if c else []) + ([_OCR + o] if o else []))

    def _keys(self, x: int) -> frozenset[tuple[str, str]]:
        """``x``'s (variant group, DOB) and (scanned forename, DOB)."""
        return frozenset((t, dob) for t in self._tags(x) for _, dob in self.own[x])

    def _waived(self, m: int, o: int, a: int, b: int) -> bool:
        """The soft cannot-link ``m``-``o`` (``m`` on ``a``'s side of the edge ``a``-``b``)
        is moot: the merge equates their names already."""
        if (min(m, o), max(m, o)) not in self.soft:
            return False
        mine, theirs = self.own[m], self.own[o]
        if not mine or not theirs or mine == theirs:  # one name: the veto is not about it
            return False
        if self._tags(m) & self._tags(o):
            return False  # variants of one name (twins Muhammad Ali, Mohammed Omar)
        if mine <= self.named[self.find(o)] or theirs <= self.named[self.find(m)]:
            return True
        if (self._keys(m) & self.named[self.find(o)]
                or self._keys(o) & self.named[self.find(m)]):
            return True
        # the merging edge joins the two names through a shared identifier, or one of its
        # records gives the other's forename as a middle name
        if self.own[a] != mine or self.own[b] != theirs:
            return False
        (fa, _), (fb, _) = next(iter(mine)), next(iter(theirs))
        return (not self.own_ids[a].isdisjoint(self.own_ids[b])
                or fb in self.middles[a] or fa in self.middles[b])

    def _conflict(self, ra: int, rb: int, a: int = -1, b: int = -1) -> bool:
        if self.anchored[ra] and self.anchored[rb]:
            return True
        na, nb = self.nhs[ra], self.nhs[rb]
        if na and nb and na.isdisjoint(nb):
            return True
        ua, ub = self.upn[ra], self.upn[rb]
        if ua and ub and ua.isdisjoint(ub) and (
                self.persons[ra].isdisjoint(self.persons[rb]) or _one_allocation(ua, ub)):
            return True
        # one source holding two records on one DOB under two names is two children, unless
        # the two sides share an identifier (the source's own duplicate of one child)
        shared = not na.isdisjoint(nb) or not ua.isdisjoint(ub)
        sa, sb = self.signatures[ra], self.signatures[rb]
        if sa and sb and not shared and _signature_conflict(sa, sb):
            return True
        if not self.cannot:
            return False
        small, big = (ra, rb) if len(self._members(ra)) <= len(self._members(rb)) else (rb, ra)
        # the edge's end on the small side first
        x, y = ((a, b) if self.find(a) == small else (b, a)) if a >= 0 else (-1, -1)
        cannot = self.cannot
        for m in self._members(small):
            others = cannot.get(m)
            if others and any(self.find(o) == big and (x < 0 or not self._waived(m, o, x, y))
                              for o in others):
                return True
        return False

    def union(self, a: int, b: int) -> bool | None:
        """Merge the clusters of ``a`` and ``b``: True merged, None already one, False refused."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        if self._conflict(ra, rb, a, b):
            return False
        ma, mb = self._members(ra), self._members(rb)
        if len(ma) < len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        self.parent[rb] = ra
        self.members[ra] = ma + mb
        self.members.pop(rb, None)
        self.nhs[ra] = self.nhs[ra] | self.nhs[rb]
        self.upn[ra] = self.upn[ra] | self.upn[rb]
        self.persons[ra] = self.persons[ra] | self.persons[rb]
        self.named[ra] = self.named[ra] | self.named[rb]
        self.anchored[ra] = self.anchored[ra] or self.anchored[rb]
        sa, sb = self.signatures[ra], self.signatures[rb]
        if sb:
            if sa is None:
                self.signatures[ra] = sb
            else:
                for src, sigs in sb.items():
                    sa.setdefault(src, set()).update(sigs)
        self.signatures[rb] = None
        return True

    def roots(self) -> list[int]:
        return [self.find(i) for i in range(self.size)]


def _one_allocation(ua: frozenset[str], ub: frozenset[str]) -> bool:
    """Two sides whose UPNs include two of one allocation (one school, one year): two pupils
    (:func:`~contactpoint.domain.identifiers.upn_allocation`)."""
    return not {upn_allocation(u) for u in ua}.isdisjoint(upn_allocation(u) for u in ub)


def _signature_conflict(
    a: dict[str, set[tuple[str, str]]], b: dict[str, set[tuple[str, str]]]
) -> bool:
    """Same source, same date of birth, different forename, one on each side."""
    if len(a) > len(b):
        a, b = b, a
    for src, sigs in a.items():
        other = b.get(src)
        if not other:
            continue
        for dob, fn in sigs:
            for dob2, fn2 in other:
                if dob == dob2 and fn != fn2:
                    return True
    return False


def signature(source: str | None, dob: str | None, fn: str | None
              ) -> dict[str, set[tuple[str, str]]] | None:
    """A record's (source, DOB, forename). A missing or placeholder forename ("Baby") counts
    as the forename "": a source holding "Arletta" and "Baby" with one DOB holds two children."""
    if source is None or dob is None:
        return None
    return {source: {(dob, fn or "")}}


def cluster_edges(
    uf: ConstrainedUnionFind, left: Sequence[int], right: Sequence[int]
) -> list[int]:
    """Union edges in the given order (callers sort by descending probability).

    Returns the positions of edges refused because of a conflict between the two clusters.
    """
    refused: list[int] = []
    union = uf.union
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        if union(a, b) is False:
            refused.append(i)
    return refused


def components(
    size: int, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The connected component of each of ``size`` nodes along edges ``left[i]``-``right[i]``
    (labels 0, 1, …; no constraint applies)."""
    from scipy.sparse import coo_array  # a batch run's; a day's run does without
    from scipy.sparse.csgraph import connected_components

    graph = coo_array((np.ones(len(left), dtype=np.int8), (left, right)), shape=(size, size))
    labels: npt.NDArray[np.int64] = connected_components(graph, directed=False)[1]
    return labels.astype(np.int64)
