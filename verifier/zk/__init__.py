"""Layer 2 of verification: Groth16/BN254 proofs that a round's verdicts and wei follow.

A payout proof states that every trainer's acceptance (for the default rule, ``trusted``) and
every wei it is paid follow exactly from the round's committed per-trainer measurements, and
that those are the amounts and verdicts of the rewards tree posted on chain. What that covers,
and what only re-execution (layer 1) covers, is in ``verifier/zk/README.md``.

Public surface::

    statement = payout_statement(result)                  # from a published RoundResult
    proof, public_inputs, size = prove_payout(statement)  # snarkjs, committed zkey
    verify_payout_proof(proof, public_inputs)             # py-ecc pairing check
    verify_round(proof, result)                           # inputs re-derived from the result
    proof.solidity_args()                                 # (pA, pB, pC) for submitProof
    check_round_proof(contracts, store, project, round_)  # a round's on-chain proof

The pure parts and the prover live in :mod:`fedmarket.zk` (the aggregator proves, and
components never import each other); they are re-exported here.
"""

from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.payout import PayoutStatement
from fedmarket.zk.poseidon import poseidon
from fedmarket.zk.prover import prove_payout
from fedmarket.zk.round import payout_statement
from verifier.zk.market import check_round_proof
from verifier.zk.verify import verify_payout_proof, verify_round, verifying_key

__all__ = [
    "Groth16Proof",
    "VerifyingKey",
    "verify_groth16",
    "PayoutStatement",
    "poseidon",
    "prove_payout",
    "payout_statement",
    "check_round_proof",
    "verify_payout_proof",
    "verify_round",
    "verifying_key",
]
