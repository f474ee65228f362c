"""What one round proof states: its public inputs and the full witness input of the circuit.

Public inputs, in the circuit's order (``PUBLIC_INPUTS``):

=============  ==============================================================================
sketchRoot     ``Poseidon(c_0, .., c_{N-1})``: ``c_i`` the commitment of slot ``i``'s sketch,
               ``Poseidon([0])`` for an empty slot (``i >= nActive``)
decisionsRoot  ``Poseidon(leaf_0, .., leaf_{N-1})``, ``leaf_i = amount_i + score_i * 2^96 +
               flag_i * 2^160`` (0 for an empty slot)
pool           wei split among accepted trainers (< 2^96)
nActive        trainers in the round, in slots ``0..nActive-1`` (the result's trainer order)
f, m           Multi-Krum's assumed Byzantine count and number accepted
seed           the round's sketch seed (< r), fixed on chain after the commit phase
=============  ==============================================================================

``N`` is the circuit's ``N_MAX`` (8 or 16); the same seven inputs for both sizes, so one Solidity
interface fits both verifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fedmarket.errors import VerificationError
from fedmarket.zk.krum import check_parameters, krum_hints, multi_krum_flags, proportional_split
from fedmarket.zk.poseidon import FIELD_MODULUS, poseidon
from fedmarket.zk.sketch import SKETCH_BITS, SKETCH_DIM, commitment, empty_commitment

__all__ = [
    "N_MAX_SIZES",
    "ONCHAIN_N_MAX",
    "PUBLIC_INPUTS",
    "SCORE_BITS",
    "AMOUNT_BITS",
    "RoundStatement",
    "circuit_size",
    "decision_leaf",
    "round_public_inputs",
]

N_MAX_SIZES = (8, 16)
# The market deploys only the largest verifier, so every on-chain proof uses this size (a
# round with more trainers has no proof: proofs are optional, layer 1 still settles it).
ONCHAIN_N_MAX = N_MAX_SIZES[-1]
PUBLIC_INPUTS = ("sketchRoot", "decisionsRoot", "pool", "nActive", "f", "m", "seed")
SCORE_BITS = 64
AMOUNT_BITS = 96


def circuit_size(n: int) -> int:
    """The smallest compiled ``N_MAX`` that holds ``n`` trainers."""
    for size in N_MAX_SIZES:
        if n <= size:
            return size
    raise ValueError(f"a round proof holds at most {N_MAX_SIZES[-1]} trainers, got {n}")


def decision_leaf(flag: bool, score: int, amount: int) -> int:
    """One slot's published decision packed into one field element."""
    if not 0 <= score < 1 << SCORE_BITS:
        raise ValueError(f"score {score} is not in [0, 2^{SCORE_BITS})")
    if not 0 <= amount < 1 << AMOUNT_BITS:
        raise ValueError(f"amount {amount} is not in [0, 2^{AMOUNT_BITS})")
    return amount + (score << 96) + (int(bool(flag)) << 160)


def round_public_inputs(commitments: Sequence[int], flags: Sequence[bool],
                        scores: Sequence[int], amounts: Sequence[int], pool: int, f: int,
                        m: int, seed: int, n_max: int | None = None) -> list[int]:
    """The public inputs from what a round publishes (no sketch needed: a verifier's view)."""
    n = len(commitments)
    if not len(flags) == len(scores) == len(amounts) == n:
        raise ValueError("commitments, flags, scores and amounts must have one entry per trainer")
    size = n_max or circuit_size(n)
    if n > size:
        raise ValueError(f"{n} trainers do not fit a circuit of {size} slots")
    if not 0 <= pool < 1 << AMOUNT_BITS:
        raise ValueError(f"pool {pool} is not in [0, 2^{AMOUNT_BITS})")
    if not 0 <= seed < FIELD_MODULUS:
        raise ValueError("seed must be below the BN254 scalar field modulus")
    if any(not 0 <= c < FIELD_MODULUS for c in commitments):
        raise ValueError("commitments must be field elements")
    check_parameters(n, f, m)
    pad = size - n
    roots = [int(c) for c in commitments] + [empty_commitment()] * pad
    leaves = [decision_leaf(fl, s, a) for fl, s, a in zip(flags, scores, amounts, strict=True)]
    return [poseidon(roots), poseidon(leaves + [0] * pad), pool, n, f, m, seed]


@dataclass(frozen=True)
class RoundStatement:
    """One round as the prover sees it: encoded sketches plus the published decisions."""

    sketches: Sequence[Sequence[int]]   # offset-encoded (``sketch.encode``), one per trainer
    flags: Sequence[bool]               # True = outlier
    scores: Sequence[int]               # fixed-point contribution scores
    amounts: Sequence[int]              # wei
    pool: int
    f: int
    m: int
    seed: int

    @property
    def n(self) -> int:
        """Trainers in the round."""
        return len(self.sketches)

    def commitments(self) -> list[int]:
        """Poseidon commitment of each trainer's sketch."""
        return [commitment(s) for s in self.sketches]

    def public_inputs(self, n_max: int | None = None) -> list[int]:
        """The proof's public inputs for this round."""
        return round_public_inputs(self.commitments(), self.flags, self.scores, self.amounts,
                                   self.pool, self.f, self.m, self.seed, n_max)

    def check(self) -> None:
        """Raise ``VerificationError`` if the decisions are not the rule's (nothing to prove)."""
        expected_flags = multi_krum_flags(self.sketches, self.f, self.m)
        if [bool(x) for x in self.flags] != expected_flags:
            raise VerificationError(
                f"published flags {[int(x) for x in self.flags]} are not the integer Multi-Krum "
                f"selection on the sketches {[int(x) for x in expected_flags]}")
        expected_amounts = proportional_split(self.pool, self.scores, expected_flags)
        if [int(a) for a in self.amounts] != expected_amounts:
            raise VerificationError(
                f"published amounts {list(self.amounts)} are not the proportional split "
                f"{expected_amounts}")

    def witness_input(self, n_max: int | None = None) -> dict[str, Any]:
        """The circuit's full input (public, private and hints) as snarkjs reads it."""
        size = n_max or circuit_size(self.n)
        public = self.public_inputs(size)
        if any(len(s) != SKETCH_DIM or not all(0 <= u < 1 << SKETCH_BITS for u in s)
               for s in self.sketches):
            raise ValueError(f"sketches must be {SKETCH_DIM} encoded {SKETCH_BITS}-bit values")
        hints = krum_hints(self.sketches, self.f, self.flags, self.scores, self.pool)
        pad = size - self.n

        def padded(values: Sequence[Any]) -> list[str]:
            return [str(int(v)) for v in values] + ["0"] * pad

        neighbour = [padded(row) for row in hints.neighbour] + [["0"] * size] * pad
        sketches = [[str(u) for u in s] for s in self.sketches] + [["0"] * SKETCH_DIM] * pad
        data: dict[str, Any] = {name: str(v) for name, v in zip(PUBLIC_INPUTS, public,
                                                                 strict=True)}
        data.update({
            "sketch": sketches,
            "flag": padded(self.flags),
            "score": padded(self.scores),
            "amount": padded(self.amounts),
            "neighbour": neighbour,
            "tau": padded(hints.tau),
            "keyThreshold": str(hints.key_threshold),
            "remainder": padded(hints.remainder),
        })
        return data
