"""RFC 6962 hashing: the Certificate Transparency known answers, and proofs that reject every
corruption (the transparency-dev corruption classes)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_inclusion,
)

# RFC 6962 test leaves and the tree head for each size 1..8 (certificate-transparency tests,
# transparency-dev/merkle testonly).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    0: [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    5: [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def test_empty_tree_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()
    assert root_of([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_rfc6962_known_answers(size: int) -> None:
    assert root_of(HASHES[:size]).hex() == ROOTS[size - 1]
    compact = CompactRange()
    for data in LEAVES[:size]:
        compact.append(data)
    assert compact.root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize("index", sorted(INCLUSION))
def test_inclusion_proofs_match_known_answers(index: int) -> None:
    proof = inclusion_proof(HASHES, index)
    assert [p.hex() for p in proof] == INCLUSION[index]
    assert verify_inclusion(HASHES[index], index, 8, proof, bytes.fromhex(ROOTS[7]))


def _corruptions(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    flipped = bytes([root[0] ^ 1]) + root[1:]
    cases = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size // 2", leaf, index, size // 2, proof, root),
        ("wrong leaf", leaf_hash(b"wrong"), index, size, proof, root),
        ("wrong root", leaf, index, size, proof, flipped),
        ("empty hash appended", leaf, index, size, [*proof, b""], root),
        ("root appended", leaf, index, size, [*proof, root], root),
        ("empty hash prepended", leaf, index, size, [b"", *proof], root),
        ("root prepended", leaf, index, size, [root, *proof], root),
    ]
    if proof:
        cases.append(("last node dropped", leaf, index, size, proof[:-1], root))
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = bytes([bad[i][0] ^ 0x80]) + bad[i][1:]
            cases.append((f"node {i} flipped", leaf, index, size, bad, root))
    return cases


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13])
def test_every_corrupted_inclusion_proof_is_rejected(size: int) -> None:
    hashes = [leaf_hash(bytes([i])) for i in range(size)]
    root = root_of(hashes)
    for index in range(size):
        proof = inclusion_proof(hashes, index)
        assert verify_inclusion(hashes[index], index, size, proof, root)
        for name, leaf, i, n, p, r in _corruptions(index, size, proof, root, hashes[index]):
            if (i, n) == (index, size) and p == proof and r == root and leaf == hashes[index]:
                continue  # not a corruption
            if (
                n == size
                and 0 <= i < size
                and hashes[i] == leaf
                and p == inclusion_proof(hashes, i)
            ):
                continue  # a different but genuine proof
            assert not verify_inclusion(leaf, i, n, p, r), (name, index, size)


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_compact_range_equals_the_recursive_definition(leaves: list[bytes]) -> None:
    compact = CompactRange()
    for data in leaves:
        compact.append(data)
    assert compact.root() == root_of([leaf_hash(d) for d in leaves])
    resumed = CompactRange(compact.size, compact.nodes)
    resumed.append(b"next")
    assert resumed.root() == root_of([leaf_hash(d) for d in [*leaves, b"next"]])


def test_compact_range_refuses_a_node_count_that_does_not_fit_the_size() -> None:
    with pytest.raises(ValueError, match="node count"):
        CompactRange(3, [EMPTY_ROOT])
