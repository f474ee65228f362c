"""zk fixtures: one proven round per circuit size per session, the verifiers compiled apart.

Proving takes seconds, so each size is proven once and the tests tamper with copies. The
verifier contracts are compiled on their own (``contracts/zk`` only) so these tests do not
depend on the state of the other contracts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import pytest

from fedmarket.chain.client import BoundContract
from fedmarket.chain.compile import Artifact, compile_contracts, project_root
from fedmarket.zk.payout import (
    COS_SCALE,
    PayoutParams,
    PayoutStatement,
    SlotMeasurements,
    cos_fixed,
    derived_acceptance,
)
from verifier.zk import Groth16Proof, prove_payout

PARAMS = PayoutParams(trusted=True, equal_fallback=True, floor_cos=cos_fixed(0.043),
                      group_cos=cos_fixed(0.9), gain_min=cos_fixed(0.15))


def random_slots(rng: random.Random, n: int,
                 params: PayoutParams = PARAMS) -> list[SlotMeasurements]:
    """``n`` slots with random measurements and the verdicts they give under ``params``."""
    slots = []
    for _ in range(n):
        slot = SlotMeasurements(
            accepted=False, contribution=rng.randint(-50_000, 1_000_000),
            usable=rng.random() < 0.9, rival=rng.random() < 0.2,
            ref_cos=rng.randint(-COS_SCALE, COS_SCALE), max_cos=rng.randint(0, COS_SCALE),
            consensus_cos=rng.randint(0, COS_SCALE), gain=rng.randint(-COS_SCALE, COS_SCALE))
        slots.append(replace(slot, accepted=derived_acceptance(slot, params)))
    return slots


def addresses(n: int) -> tuple[str, ...]:
    """``n`` distinct ascending addresses."""
    return tuple(f"0x{(i + 1) * 0x1111:040x}" for i in range(n))


def make_statement(n: int, seed: int = 0, pool: int = 10**18) -> PayoutStatement:
    """A trusted-rule round of ``n`` trainers with random measurements, at least 2 accepted."""
    rng = random.Random(n * 1000 + seed)
    while True:
        slots = random_slots(rng, n)
        if sum(s.accepted and s.contribution > 0 for s in slots) >= 2:
            return PayoutStatement(3, 2, addresses(n), tuple(slots), PARAMS, pool)


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
