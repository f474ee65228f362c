"""FedMarket round proofs: the sketch seed, the posted claim and every refusal of submitProof.

A valid proof needs a real round proven with snarkjs: that path is in
``tests/zk/test_market_integration.py``.
"""

from __future__ import annotations

import pytest
from py_ecc.optimized_bn128 import G1, G2, normalize
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.types import TxReceipt

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deploy import PROOF_VERIFIER, ZERO_ADDRESS, DeployParams, deploy_contracts
from fedmarket.chain.errors_abi import decode_revert
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import RoundProof, RoundResult, proof_claim_for
from fedmarket.errors import ContractRevert
from fedmarket.zk import FIELD_MODULUS
from tests.contracts.scenario import AGGREGATOR, ETHER, Scenario, reward_tree

SKETCH_ROOT, DECISIONS_ROOT, F, M = 11, 22, 1, 2


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


def _proof(sketch_root: int = SKETCH_ROOT, decisions_root: int = DECISIONS_ROOT) -> RoundProof:
    """Well-formed curve points (the generators) that prove nothing."""
    g1 = tuple(int(v.n) for v in normalize(G1))
    (x, y) = normalize(G2)
    g2 = ((int(x.coeffs[1]), int(x.coeffs[0])), (int(y.coeffs[1]), int(y.coeffs[0])))
    return RoundProof(g1, g2, g1, sketch_root, decisions_root, F, M)  # type: ignore[arg-type]


def _post(sc: Scenario, project: int, claim: bytes = b"\x00" * 32) -> None:
    _post_receipt(sc, project, claim)


def _post_receipt(sc: Scenario, project: int, claim: bytes = b"\x00" * 32) -> TxReceipt:
    tree = reward_tree(project, 1, {sc.address(6): ETHER, sc.address(7): ETHER})
    return sc.actor(AGGREGATOR).market.submit_result(project, 1, RoundResult(
        "bafkreimodel", "bafkreiresult", Web3.keccak(text="result"), tree.root, tree.total,
        claim))


def _posted_round(sc: Scenario, claim: bytes | None = None) -> int:
    project = sc.open_project(trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))
    _post(sc, project, proof_claim_for(SKETCH_ROOT, DECISIONS_ROOT, F, M)
          if claim is None else claim)
    return project


def test_deploy_wires_the_generated_verifier(sc: Scenario) -> None:
    proofs = sc.actor(0).market.proofs
    assert proofs is not None

    wired = proofs.call("verifier")

    assert wired == sc.deployment.address(PROOF_VERIFIER)
    assert proofs.call("market") == sc.actor(0).market.address


def test_every_reveal_moves_the_seed_and_the_result_records_it(sc: Scenario) -> None:
    """Attack 8: the seed mixes every revealed salt, so no single revealer picks it."""
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6, 7))
    market = sc.actor(6).market
    seeds = [market.sketch_seed(project, 1)]
    for trainer in (6, 7):
        sc.reveal(project, 1, (trainer,))
        seeds.append(market.sketch_seed(project, 1))

    receipt = _post_receipt(sc, project)

    assert len(set(seeds)) == 3  # each reveal changed it
    assert market.contract.events("RoundSeedFixed", receipt) == [
        {"project": project, "round": 1, "seed": seeds[-1]}]
    assert 0 < seeds[-1] < FIELD_MODULUS
    assert market.round_proof(project, 1).seed == seeds[-1]


def test_submit_result_records_proof_claim(sc: Scenario) -> None:
    claim = proof_claim_for(SKETCH_ROOT, DECISIONS_ROOT, F, M)

    project = _posted_round(sc, claim)

    state = sc.actor(0).market.round_proof(project, 1)
    assert (state.claim, state.claimed) == (claim, True)


def test_submit_proof_without_verifier_refused(sc: Scenario) -> None:
    client = ChainClient(sc.w3, dev_account(0))
    bare = deploy_contracts(client, DeployParams(proof_verifier=ZERO_ADDRESS))
    market = MarketContracts.at(client, bare).market

    err = _revert(market.submit_proof, 1, 1, _proof())

    assert err.name == "ProofsNoVerifier"


def test_submit_proof_before_result_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))

    err = _revert(sc.actor(0).market.submit_proof, project, 1, _proof())

    assert err.name == "ProofsRoundNotPosted"
    assert err.args_decoded == (project, 1)


def test_submit_proof_without_claim_refused(sc: Scenario) -> None:
    project = _posted_round(sc, claim=b"\x00" * 32)

    err = _revert(sc.actor(0).market.submit_proof, project, 1, _proof())

    assert err.name == "ProofsNoClaim"
    assert err.args_decoded == (project, 1)


def test_submit_proof_with_other_decisions_root_refused(sc: Scenario) -> None:
    project = _posted_round(sc)
    other = _proof(decisions_root=DECISIONS_ROOT + 1)

    err = _revert(sc.actor(0).market.submit_proof, project, 1, other)

    assert err.name == "ProofsClaimMismatch"
    assert err.args_decoded == (project, 1, proof_claim_for(SKETCH_ROOT, DECISIONS_ROOT, F, M),
                                other.claim)


def test_submit_proof_invalid_proof_refused(sc: Scenario) -> None:
    project = _posted_round(sc)

    err = _revert(sc.actor(0).market.submit_proof, project, 1, _proof())

    assert err.name == "ProofsRejected"
    assert err.args_decoded == (project, 1)
    assert not sc.actor(0).market.round(project, 1).proof_verified


def test_submit_proof_with_too_little_gas_refused(sc: Scenario) -> None:
    project = _posted_round(sc)
    proofs = sc.actor(0).market.proofs
    assert proofs is not None

    with pytest.raises(ContractCustomError) as caught:  # an eth_call capped below the need
        proofs.contract.functions.submitProof(project, 1, _proof().to_abi()).call(
            {"from": sc.address(0), "gas": 250_000})

    err = decode_revert(str(caught.value.data), "RoundProofs")
    assert err.name == "ProofsGasTooLow"
    assert err.args_decoded[0] < err.args_decoded[1]
