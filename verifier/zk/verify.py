"""Verifying round proofs in Python against the committed verification keys."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.prover import ARTIFACTS
from fedmarket.zk.statement import N_MAX_SIZES, PUBLIC_INPUTS, round_public_inputs

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

    ``n_max`` picks one circuit; by default the proof is checked against every committed
    circuit that holds ``nActive`` trainers: the market proves with :data:`ONCHAIN_N_MAX`
    whatever the round's size while ``prove_round`` alone picks the smallest, and each key
    proves the same statement, so either proof is a proof. Malformed proofs or inputs give
    False, never an exception.
    """
    inputs = list(public_inputs)
    if len(inputs) != len(PUBLIC_INPUTS):
        return False
    if n_max is not None:
        return verify_groth16(verifying_key(n_max), proof, inputs)
    try:
        active = int(inputs[PUBLIC_INPUTS.index("nActive")])
    except (TypeError, ValueError):
        return False
    return any(verify_groth16(verifying_key(size), proof, inputs)
               for size in N_MAX_SIZES if active <= size)


def verify_round(proof: Groth16Proof, commitments: Sequence[int], flags: Sequence[bool],
                 scores: Sequence[int], amounts: Sequence[int], pool: int, f: int, m: int,
                 seed: int, n_max: int | None = None) -> bool:
    """Check a proof against what a round published (the auditor's entry point).

    Without ``n_max``, every committed circuit that holds the round is tried (the public
    inputs are padded to each size), as :func:`verify_round_proof` does.
    """
    sizes = [n_max] if n_max is not None else [s for s in N_MAX_SIZES if len(flags) <= s]
    for size in sizes:
        try:
            inputs = round_public_inputs(commitments, flags, scores, amounts, pool, f, m, seed,
                                         size)
        except ValueError:
            continue
        if verify_round_proof(proof, inputs, size):
            return True
    return False
