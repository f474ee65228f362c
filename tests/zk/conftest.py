"""zk fixtures: one proven round per circuit size per session, the verifiers compiled apart.

Proving takes seconds, so each size is proven once and the tests tamper with copies. The
verifier contracts are compiled on their own (``contracts/zk`` only) so these tests do not
depend on the state of the other contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fedmarket.chain.client import BoundContract
from fedmarket.chain.compile import Artifact, compile_contracts, project_root
from fedmarket.zk.payout import PayoutStatement
from fedmarket.zk.synthetic import DEFAULT_PARAMS, synthetic_statement
from verifier.zk import Groth16Proof, prove_payout

PARAMS = DEFAULT_PARAMS


def make_statement(n: int, seed: int = 0, pool: int = 10**18) -> PayoutStatement:
    """A trusted-rule round of ``n`` trainers with random measurements, at least 2 paid."""
    return synthetic_statement(n, seed, pool)


@dataclass(frozen=True)
class ProvenRound:
    statement: PayoutStatement
    proof: Groth16Proof
    public_inputs: list[int]
    size: int


def prove(statement: PayoutStatement, size: int | None = None) -> ProvenRound:
    proof, public, used = prove_payout(statement, size)
    return ProvenRound(statement, proof, public, used)


@pytest.fixture(scope="session")
def round8() -> ProvenRound:
    """A 7-trainer round (one empty slot) proven with the N = 8 circuit."""
    return prove(make_statement(7))


@pytest.fixture(scope="session")
def round64() -> ProvenRound:
    """A full 64-trainer round proven with the N = 64 circuit."""
    return prove(make_statement(64))


@pytest.fixture(scope="session")
def zk_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    return compile_contracts(project_root() / "contracts" / "zk",
                             tmp_path_factory.mktemp("zk-build"))


@pytest.fixture
def deploy_verifier(client_for, zk_artifacts):
    """``deploy_verifier(size)``: a fresh RoundPayoutVerifier{size} on the reverted chain."""

    def deploy(size: int) -> BoundContract:
        client = client_for(0)
        client.artifacts = zk_artifacts
        contract, _receipt = client.deploy(f"RoundPayoutVerifier{size}")
        return contract

    return deploy


def onchain_verify(verifier: BoundContract, proof: Groth16Proof, inputs: list[int]) -> bool:
    a, b, c = proof.solidity_args()
    return bool(verifier.call("verifyProof", a, b, c, inputs))
