"""Round proofs' shared core: sketches, Poseidon, integer Multi-Krum, statement, prover.

The aggregator proves and the verifier checks, and components never import each other, so
everything both sides need lives here: the pure reference of the circuit (``sketch``,
``poseidon``, ``krum``, ``statement``), Groth16 proof values and the py-ecc pairing check
(``groth16``), and proving with snarkjs against the committed setup (``prover``,
``artifacts/``). What a proof establishes is in ``verifier/zk/README.md``.
"""

from fedmarket.zk.groth16 import Groth16Proof, VerifyingKey, verify_groth16
from fedmarket.zk.krum import krum_scores, multi_krum_flags, proportional_split
from fedmarket.zk.poseidon import FIELD_MODULUS, poseidon
from fedmarket.zk.prover import ARTIFACTS, prove_round
from fedmarket.zk.sketch import commitment, sketch_round
from fedmarket.zk.statement import (
    N_MAX_SIZES,
    ONCHAIN_N_MAX,
    PUBLIC_INPUTS,
    RoundStatement,
    circuit_size,
    round_public_inputs,
)

__all__ = [
    "ARTIFACTS",
    "FIELD_MODULUS",
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
    "ONCHAIN_N_MAX",
    "PUBLIC_INPUTS",
    "RoundStatement",
    "circuit_size",
    "round_public_inputs",
]
