"""Layer 2 of verification: Groth16/BN254 proofs of a round's outlier flags and reward split.

A proof states that, on the committed fixed-point sketches of the round's updates, the
published flags are exactly the integer Multi-Krum selection and the published amounts exactly
the proportional split of the pool over the published scores of accepted trainers. What that
covers, and what only re-execution (layer 1) covers, is in ``verifier/zk/README.md``.

Public surface::

    sketches, shift = sketch_round(updates, seed)              # integer sketches of a round
    statement = RoundStatement(sketches, flags, scores, amounts, pool, f, m, seed)
    proof, public_inputs = prove_round(statement)              # snarkjs, committed zkey
    verify_round_proof(proof, public_inputs)                   # py-ecc pairing check
    verify_round(proof, commitments, flags, scores, amounts, pool, f, m, seed)
    proof.solidity_args()                                      # (pA, pB, pC) for verifyProof
    check_round_proof(contracts, store, project, round_)       # a round's on-chain proof

The pure parts and the prover live in :mod:`fedmarket.zk` (the aggregator proves, and
components never import each other); they are re-exported here.
"""

from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.krum import krum_scores, multi_krum_flags, proportional_split
from fedmarket.zk.poseidon import poseidon
from fedmarket.zk.prover import prove_round
from fedmarket.zk.sketch import commitment, sketch_round
from fedmarket.zk.statement import (
    N_MAX_SIZES,
    PUBLIC_INPUTS,
    RoundStatement,
    circuit_size,
    round_public_inputs,
)
from verifier.zk.market import check_round_proof
from verifier.zk.verify import verify_round, verify_round_proof, verifying_key

__all__ = [
    "check_round_proof",
    "Groth16Proof",
    "VerifyingKey",
    "verify_groth16",
    "krum_scores",
    "multi_krum_flags",
    "proportional_split",
    "poseidon",
    "prove_round",
    "commitment",
    "sketch_round",
    "N_MAX_SIZES",
    "PUBLIC_INPUTS",
    "RoundStatement",
    "circuit_size",
    "round_public_inputs",
    "verify_round",
    "verify_round_proof",
    "verifying_key",
]
