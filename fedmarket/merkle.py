"""OpenZeppelin-compatible standard Merkle tree (``@openzeppelin/merkle-tree``, ``standard-v1``).

Roots and proofs check with OpenZeppelin's ``MerkleProof.verify`` on chain.

Rules, as in that library:

* leaf hash = ``keccak256(keccak256(abi.encode(types, values)))`` (double hashing prevents a
  64-byte internal node from being passed off as a leaf);
* leaves are sorted by hash (ascending bytes) and stored at the end of a flat array of
  ``2n - 1`` nodes in reverse order (leaf ``k`` of the sorted list at index ``2n - 2 - k``);
  node ``i`` has children ``2i + 1`` and ``2i + 2`` and is ``keccak256(sort(a, b))``
  (sorted-pair hashing, so a proof needs no left/right flags);
* the root is node 0; a proof lists sibling hashes from the leaf up.

Rewards use leaves ``(uint256 project, uint256 round, address trainer, uint256 amount)``
(:data:`REWARD_LEAF_ENCODING`, :func:`reward_tree`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

__all__ = [
    "REWARD_LEAF_ENCODING",
    "StandardMerkleTree",
    "leaf_hash",
    "hash_pair",
    "process_proof",
    "verify",
    "reward_leaf",
    "reward_tree",
]

REWARD_LEAF_ENCODING: tuple[str, ...] = ("uint256", "uint256", "address", "uint256")


def leaf_hash(value: Sequence[Any], encoding: Sequence[str]) -> bytes:
    """Return ``keccak256(keccak256(abi.encode(encoding, value)))``."""
    return keccak(keccak(encode(list(encoding), list(value))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Return ``keccak256`` of the two nodes concatenated in ascending byte order."""
    return keccak(a + b if a <= b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold ``proof`` onto ``leaf`` and return the implied root."""
    node = _node(leaf)
    for sibling in proof:
        node = hash_pair(node, _node(sibling))
    return node


def verify(
    root: bytes | str,
    value: Sequence[Any],
    proof: Sequence[bytes | str],
    encoding: Sequence[str] = REWARD_LEAF_ENCODING,
) -> bool:
    """Return whether ``value`` (encoded with ``encoding``) is in the tree with ``root``."""
    return process_proof(leaf_hash(value, encoding), [_node(p) for p in proof]) == _node(root)


def _node(node: bytes | str) -> bytes:
    raw = bytes.fromhex(node.removeprefix("0x")) if isinstance(node, str) else bytes(node)
    if len(raw) != 32:
        raise ValueError(f"Merkle tree nodes must be 32 bytes, got {len(raw)}")
    return raw


class StandardMerkleTree:
    """A tree over ``values`` with ABI ``encoding``; value order is kept, leaves are sorted."""

    def __init__(self, values: Sequence[Sequence[Any]], encoding: Sequence[str]):
        if not values:
            raise ValueError("Expected non-zero number of leaves")
        self.encoding = tuple(encoding)
        self.values = [tuple(v) for v in values]
        hashed = sorted(
            ((leaf_hash(v, self.encoding), i) for i, v in enumerate(self.values)),
            key=lambda pair: pair[0],
        )
        size = 2 * len(hashed) - 1
        tree: list[bytes] = [b""] * size
        self._tree_index = [0] * len(self.values)
        for k, (h, value_index) in enumerate(hashed):
            tree[size - 1 - k] = h
            self._tree_index[value_index] = size - 1 - k
        for i in range(size - 1 - len(hashed), -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        self.tree = tree

    @property
    def root(self) -> bytes:
        """Return the 32-byte root."""
        return self.tree[0]

    @property
    def root_hex(self) -> str:
        """Return the root as ``0x``-prefixed hex."""
        return "0x" + self.root.hex()

    def leaf_hash(self, i: int) -> bytes:
        """Return the leaf hash of value ``i`` (in the order given)."""
        return self.tree[self._tree_index[i]]

    def proof(self, i: int) -> list[bytes]:
        """Return the proof of value ``i`` (in the order given): sibling hashes, leaf upward."""
        if not 0 <= i < len(self.values):
            raise IndexError(f"value index {i} out of range [0, {len(self.values)})")
        index = self._tree_index[i]
        proof = []
        while index > 0:
            sibling = index + 1 if index % 2 else index - 1
            proof.append(self.tree[sibling])
            index = (index - 1) // 2
        return proof

    def verify(self, i: int, proof: Sequence[bytes | str]) -> bool:
        """Return whether ``proof`` proves value ``i`` against this tree's root."""
        return verify(self.root, self.values[i], proof, self.encoding)

    def dump(self) -> dict[str, Any]:
        """Return the tree in OpenZeppelin's ``standard-v1`` JSON shape."""
        return {
            "format": "standard-v1",
            "leafEncoding": list(self.encoding),
            "tree": ["0x" + node.hex() for node in self.tree],
            "values": [
                {"value": list(v), "treeIndex": t}
                for v, t in zip(self.values, self._tree_index, strict=True)
            ],
        }


def reward_leaf(project: int, round_: int, trainer: str, amount: int) -> tuple[int, int, str, int]:
    """Return the reward leaf ``(project, round, trainer, amount)`` with a checksummed address."""
    return (int(project), int(round_), to_checksum_address(trainer), int(amount))


def reward_tree(
    project: int, round_: int, payouts: Sequence[tuple[str, int]]
) -> StandardMerkleTree | None:
    """Return the rewards tree of ``(trainer, amount)`` payouts, zero amounts included.

    Zero leaves are kept on purpose: settling a trainer's zero leaf is how the chain records a
    rejected round against its reputation (the distributor counts amount > 0 as accepted and
    0 as rejected). Only a round with no trainers at all has no tree (the zero root).
    """
    leaves = [reward_leaf(project, round_, t, a) for t, a in payouts]
    return StandardMerkleTree(leaves, REWARD_LEAF_ENCODING) if leaves else None
