"""RFC 6962 (RFC 9162 §2.1) Merkle tree hashing over the audit entries.

Leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right), empty tree =
SHA-256(""). :class:`CompactRange` keeps only the roots of the perfect subtrees left of the
right edge (O(log n) hashes), so the root of a million-entry log is computed in one streaming
pass, and a checkpoint can carry the range forward to the next one. Pure functions only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the RFC's recursive definition (reference implementation, for tests)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


class CompactRange:
    """The compact range [0, size): enough state to append leaves and compute the root."""

    __slots__ = ("_nodes", "size")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != bin(size).count("1"):
            raise ValueError("compact range: node count does not match the tree size")
        self.size = size
        # nodes[i] is the root of a perfect subtree; sizes decrease left to right.
        self._nodes: list[bytes] = list(nodes)

    @property
    def nodes(self) -> tuple[bytes, ...]:
        return tuple(self._nodes)

    def append_leaf_hash(self, h: bytes) -> None:
        nodes = self._nodes
        size = self.size
        # Merge with each complete left sibling: one merge per trailing 1 bit of ``size``.
        while size & 1:
            h = hashlib.sha256(b"\x01" + nodes.pop() + h).digest()
            size >>= 1
        nodes.append(h)
        self.size += 1

    def append(self, data: bytes) -> None:
        self.append_leaf_hash(hashlib.sha256(b"\x00" + data).digest())

    def root(self) -> bytes:
        if not self._nodes:
            return EMPTY_ROOT
        nodes = self._nodes
        h = nodes[-1]
        for left in reversed(nodes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._nodes)


# --- inclusion proofs (RFC 9162 §2.1.3) -------------------------------------------------------


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` in the tree of ``leaf_hashes``."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError("leaf index out of range")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaf_hashes[:k], index), root_of(leaf_hashes[k:])]
    return [*inclusion_proof(leaf_hashes[k:], index - k), root_of(leaf_hashes[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` in ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
