"""zk fixtures: one proven round per circuit size per session, the verifiers compiled apart.

Proving takes seconds, so each size is proven once and the tests tamper with copies. The
verifier contracts are compiled on their own (``contracts/zk`` only) so these tests do not
depend on the state of the other contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fedmarket.chain.client import BoundContract
from fedmarket.chain.compile import Artifact, compile_contracts, project_root
from verifier.zk import (
    Groth16Proof,
    RoundStatement,
    multi_krum_flags,
    proportional_split,
    prove_round,
    sketch_round,
)

SEED = 0x5EED_F00D


@dataclass(frozen=True)
class ProvenRound:
    statement: RoundStatement
    proof: Groth16Proof
    public_inputs: list[int]
    n_max: int


def make_statement(n: int, seed: int = SEED, outliers: int = 2, pool: int = 10**18,
                   dim: int = 2000) -> RoundStatement:
    """n honest-looking updates around a common direction, the first ``outliers`` flipped."""
    rng = np.random.default_rng(n * 1000 + seed % 1000)
    direction = rng.normal(0, 0.01, dim)
    updates = [direction + rng.normal(0, 0.002, dim) for _ in range(n)]
    for i in range(outliers):
        updates[i] = -5.0 * updates[i]
    sketches, _shift = sketch_round(updates, seed)
    f = outliers
    m = n - f
    flags = multi_krum_flags(sketches, f, m)
    scores = [int(s) for s in rng.integers(1_000, 1_000_000, n)]
    amounts = proportional_split(pool, scores, flags)
    return RoundStatement(sketches, flags, scores, amounts, pool, f, m, seed)


def prove(statement: RoundStatement, n_max: int) -> ProvenRound:
    proof, public = prove_round(statement, n_max)
    return ProvenRound(statement, proof, public, n_max)


@pytest.fixture(scope="session")
def round8() -> ProvenRound:
    """A 7-trainer round (one empty slot) proven with the N_MAX = 8 circuit."""
    return prove(make_statement(7), 8)


@pytest.fixture(scope="session")
def round16() -> ProvenRound:
    """A full 16-trainer round proven with the N_MAX = 16 circuit."""
    return prove(make_statement(16, outliers=3), 16)


@pytest.fixture(scope="session")
def zk_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    return compile_contracts(project_root() / "contracts" / "zk",
                             tmp_path_factory.mktemp("zk-build"))


@pytest.fixture
def deploy_verifier(client_for, zk_artifacts):
    """``deploy_verifier(n_max)``: a fresh RoundProofVerifier{n_max} on the reverted chain."""

    def deploy(n_max: int) -> BoundContract:
        client = client_for(0)
        client.artifacts = zk_artifacts
        contract, _receipt = client.deploy(f"RoundProofVerifier{n_max}")
        return contract

    return deploy


def onchain_verify(verifier: BoundContract, proof: Groth16Proof, inputs: list[int]) -> bool:
    a, b, c = proof.solidity_args()
    return bool(verifier.call("verifyProof", a, b, c, inputs))
