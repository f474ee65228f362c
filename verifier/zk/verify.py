"""Verifying round proofs in Python against the committed verification keys."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.prover import ARTIFACTS
from fedmarket.zk.statement import N_MAX_SIZES, PUBLIC_INPUTS, circuit_size, round_public_inputs

__all__ = ["verifying_key", "verify_round_proof", "verify_round"]


@lru_cache(maxsize=len(N_MAX_SIZES))
def verifying_key(n_max: int) -> VerifyingKey:
    """The committed verification key of the ``n_max``-slot circuit."""
    if n_max not in N_MAX_SIZES:
        raise ValueError(f"no round circuit for N_MAX={n_max} (have {N_MAX_SIZES})")
    return VerifyingKey.load(ARTIFACTS / f"verification_key_{n_max}.json")


def verify_round_proof(proof: Groth16Proof, public_inputs: Sequence[int],
                       n_max: int | None = None) -> bool:
    """True when ``proof`` proves ``public_inputs`` (see ``statement.PUBLIC_INPUTS``).

    ``n_max`` defaults to the smallest circuit that holds ``nActive`` trainers, the size
    ``prove_round`` picks. Malformed proofs or inputs give False, never an exception.
    """
    inputs = list(public_inputs)
    if len(inputs) != len(PUBLIC_INPUTS):
        return False
    if n_max is None:
        try:
            n_max = circuit_size(int(inputs[PUBLIC_INPUTS.index("nActive")]))
        except (TypeError, ValueError):
            return False
    return verify_groth16(verifying_key(n_max), proof, inputs)


def verify_round(proof: Groth16Proof, commitments: Sequence[int], flags: Sequence[bool],
                 scores: Sequence[int], amounts: Sequence[int], pool: int, f: int, m: int,
                 seed: int, n_max: int | None = None) -> bool:
    """Check a proof against what a round published (the auditor's entry point)."""
    try:
        inputs = round_public_inputs(commitments, flags, scores, amounts, pool, f, m, seed,
                                     n_max)
    except ValueError:
        return False
    return verify_round_proof(proof, inputs, n_max)
