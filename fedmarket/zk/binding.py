"""Bind a round proof to the payout posted on chain: the challenge ``r`` and the binding ``h``.

The payout proof (``circuits/round_payout.circom``) derives every trainer's amount and
acceptance bit from the committed measurements. The chain must learn that those are the
amounts of the posted rewards tree, without paying ~6k gas per public input for 2N of them.
So the proof has two public inputs for the whole payout, computed by ``RoundProofs`` from the
calldata it also rebuilds the rewards tree from:

- ``r = keccak256(abi.encode(project, round, measurementsRoot, trainers, amounts, acceptedBits))
  mod R`` (``R`` the BN254 scalar field; ``acceptedBits`` has bit ``i`` set when slot ``i``
  was accepted), and
- ``h = sum_i ((2 * amount_i + accepted_i) * r^(2i) + trainer_i * r^(2i+1)) mod R`` over the
  round's slots (``trainer_i`` the address as an integer).

The circuit computes ``h`` from *its* amounts and verdicts and from the trainer addresses
committed in the measurements root, with the public ``r``. A proof for values ``v'`` other
than the calldata's ``v`` verifies only if the polynomial ``sum (v'_k - v_k) x^k`` (degree
< 2N, not zero) vanishes at ``r``: ``r`` is fixed by the calldata (and by the measurements
root, committed earlier with the result), and the circuit's values are fixed by the
measurements, so each try succeeds with probability at most ``2N / R < 2^-246``
(Schwartz-Zippel); grinding calldata costs a keccak and a proof per try. Binding the
addresses matters even where the rewards tree does not hold them (an accepted trainer paid 0
has no leaf): otherwise anyone could front-run the genuine proof with one over other
addresses for those slots, which the audit, re-deriving ``r`` from the result, would fail.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

__all__ = ["SCALAR_FIELD", "accepted_bits", "payout_challenge"]

#: BN254 scalar field modulus (the circuit's field; public inputs must be below it).
SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def accepted_bits(accepted: Sequence[bool]) -> int:
    """``acceptedBits``: bit ``i`` set when slot ``i`` was accepted."""
    return sum(1 << i for i, ok in enumerate(accepted) if ok)


def payout_challenge(project: int, round_: int, measurements_root: int, trainers: Sequence[str],
                     amounts: Sequence[int], accepted: Sequence[bool]) -> tuple[int, int]:
    """``(r, h)`` exactly as ``RoundProofs.submitProof`` computes them (see the module doc)."""
    if not len(trainers) == len(amounts) == len(accepted):
        raise ValueError("trainers, amounts and accepted must have the same length")
    data = encode(["uint256", "uint256", "uint256", "address[]", "uint256[]", "uint256"],
                  [project, round_, measurements_root, [to_checksum_address(t) for t in trainers],
                   list(amounts), accepted_bits(accepted)])
    r = int.from_bytes(keccak(data), "big") % SCALAR_FIELD
    h, power = 0, 1
    for trainer, amount, ok in zip(trainers, amounts, accepted, strict=True):
        h = (h + (2 * amount + int(bool(ok))) * power) % SCALAR_FIELD
        power = power * r % SCALAR_FIELD
        h = (h + int(to_checksum_address(trainer), 16) * power) % SCALAR_FIELD
        power = power * r % SCALAR_FIELD
    return r, h
