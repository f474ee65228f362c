"""Round proofs' shared core: the payout statement, Poseidon, the chain binding, the prover.

The aggregator proves and the auditor checks, and components never import each other, so
everything both sides need lives here: the pure reference of the circuit (``payout``,
``poseidon``, ``binding``), the statement of a published result (``round``), Groth16 proof
values and the py-ecc pairing check (``groth16``), and proving with snarkjs against the
committed setup (``prover``, ``artifacts/``). What a proof establishes is in
``verifier/zk/README.md``.
"""

from fedmarket.zk.binding import SCALAR_FIELD, payout_challenge
from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.payout import (
    PAYOUT_SIZES,
    PUBLIC_INPUTS,
    PayoutParams,
    PayoutStatement,
    SlotMeasurements,
    payout_circuit_size,
)
from fedmarket.zk.poseidon import FIELD_MODULUS, poseidon
from fedmarket.zk.prover import ARTIFACTS, prove_payout

__all__ = [
    "ARTIFACTS",
    "FIELD_MODULUS",
    "SCALAR_FIELD",
    "Groth16Proof",
    "VerifyingKey",
    "verify_groth16",
    "payout_challenge",
    "PAYOUT_SIZES",
    "PUBLIC_INPUTS",
    "PayoutParams",
    "PayoutStatement",
    "SlotMeasurements",
    "payout_circuit_size",
    "poseidon",
    "prove_payout",
]
