"""Verifying payout proofs in Python against the committed verification keys."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from fedmarket.round_result import RoundResult
from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.payout import PAYOUT_SIZES, PUBLIC_INPUTS, unpack_active
from fedmarket.zk.prover import ARTIFACTS
from fedmarket.zk.round import UnprovableRound, payout_statement

__all__ = ["verifying_key", "verify_payout_proof", "verify_round"]


@lru_cache(maxsize=len(PAYOUT_SIZES))
def verifying_key(size: int) -> VerifyingKey:
    """The committed verification key of the ``size``-slot payout circuit."""
    if size not in PAYOUT_SIZES:
        raise ValueError(f"no payout circuit for N={size} (have {PAYOUT_SIZES})")
    return VerifyingKey.load(ARTIFACTS / f"payout_verification_key_{size}.json")


def verify_payout_proof(proof: Groth16Proof, public_inputs: Sequence[int],
                        size: int | None = None) -> bool:
    """True when ``proof`` proves ``public_inputs`` (:data:`~fedmarket.zk.payout.PUBLIC_INPUTS`).

    ``size`` picks one circuit; by default every committed circuit that holds ``nActive``
    trainers is tried (each proves the same statement: the measurements root covers 64 padded
    slots whatever the size). Malformed proofs or inputs — a coordinate or input at or above
    its modulus included — give False, never an exception, exactly where the contract's
    verifier refuses them.
    """
    inputs = list(public_inputs)
    if len(inputs) != len(PUBLIC_INPUTS):
        return False
    if size is not None:
        return size in PAYOUT_SIZES and verify_groth16(verifying_key(size), proof, inputs)
    try:
        active = unpack_active(int(inputs[PUBLIC_INPUTS.index("statement")]))
    except (TypeError, ValueError):
        return False
    return any(verify_groth16(verifying_key(s), proof, inputs)
               for s in PAYOUT_SIZES if active <= s)


def verify_round(proof: Groth16Proof, result: RoundResult, size: int | None = None) -> bool:
    """Check a proof against what a round published (the result JSON alone).

    The public inputs are re-derived from the result: its measurements and parameters, its
    pool and trainer count, and the payout binding of its trainers, rewards and verdicts.
    """
    try:
        statement = payout_statement(result, check=False)
        inputs = statement.public_inputs()
    except (UnprovableRound, ValueError):
        return False
    return verify_payout_proof(proof, inputs, size)
