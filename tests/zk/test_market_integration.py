"""Layer 2 through the real market: every played round is claimed, proven and verified on chain.

One digits project under the default pipeline (``trusted`` + ``group_shapley``), six trainers
of which one flips its update's sign; the aggregator claims the round's payout proof with its
result and proves it, the market checks it against the posted rewards tree, and the audit
re-verifies it from the result alone. A front-runner's malleated copy cannot take the round.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import aggregator.service as service_module
import verifier.service as verifier_module
from fedmarket.chain.types import RoundPayout, RoundProof, RoundStatus
from fedmarket.errors import ContractRevert
from fedmarket.rewards_query import round_result_of
from fedmarket.zk import prove_payout
from fedmarket.zk.groth16 import BASE_FIELD
from fedmarket.zk.publish import plan_proof, prove_published_round
from tests.contracts.scenario import travel_past
from tests.e2e.market import Market, build_market
from verifier.zk import check_round_proof


class Notes:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def published(self, published: object) -> None:
        return None

    def attested(self, attested: object) -> None:
        return None

    def note(self, message: str) -> None:
        self.lines.append(message)


def _market(client_for, tmp_path: Path) -> Market:  # type: ignore[no-untyped-def]
    return build_market(client_for, tmp_path, trainers=6, rounds=1, prove=True, rule=None,
                        attacks={5: "sign_flip"})


def _revert(call, *args) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args)
    return caught.value


def test_a_played_round_is_proven_audited_and_finalized(client_for, tmp_path: Path) -> None:
    market = _market(client_for, tmp_path)
    notes = Notes()
    market.aggregator.reporter = notes

    market.play_round()

    chain = market.owner.market
    info = chain.round(market.project, 1)
    assert info.proof_verified, notes.lines
    assert any("proof verified on chain" in line for line in notes.lines)
    ok, why = check_round_proof(market.owner, market.store, market.project, 1)
    assert ok is True, why
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    assert result.rule == "trusted" and not all(t.accepted for t in result.trainers)
    assert info.status == RoundStatus.FINALIZED


def test_a_front_run_malleated_proof_cannot_fail_an_honest_round(
        client_for, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The aggregator posts its claim but leaves the proving to us (anyone can prove).
    monkeypatch.setattr(service_module, "prove_published_round", lambda *a, **k: None)
    monkeypatch.setattr(verifier_module, "prove_published_round", lambda *a, **k: None)
    market = _market(client_for, tmp_path)
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)  # posts the result with its claim
    chain = market.owner.market
    info = chain.round(market.project, 1)
    assert chain.round_proof(market.project, 1).claimed and not info.proof_verified
    assert check_round_proof(market.owner, market.store, market.project, 1) == (
        None, "no proof posted")
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    plan = plan_proof(result)
    proof, _public, size = prove_payout(plan.statement)
    a, b, c = proof.solidity_args()
    genuine = RoundProof((a[0], a[1]), ((b[0][0], b[0][1]), (b[1][0], b[1][1])), (c[0], c[1]),
                         plan.claim.measurements_root, plan.claim.params, size)
    payout = RoundPayout.from_result(result)

    forged_y = genuine.a[1] + BASE_FIELD + (2**256 % BASE_FIELD)  # see tests/zk/test_proof.py
    non_canonical = _revert(chain.submit_proof, market.project, 1,
                            replace(genuine, a=(genuine.a[0], forged_y)), payout)
    bad_point = _revert(chain.submit_proof, market.project, 1, replace(genuine, c=genuine.a),
                        payout)
    paid = next(i for i, x in enumerate(payout.amounts) if x > 1)
    moved = list(payout.amounts)
    moved[paid] -= 1
    moved[next(i for i, x in enumerate(payout.amounts) if x > 0 and i != paid)] += 1
    one_wei = _revert(chain.submit_proof, market.project, 1, genuine,
                      replace(payout, amounts=tuple(moved)))
    # A third party proving the round instead of the aggregator: accepted, and it is the round's.
    receipt = prove_published_round(market.trainers[0].contracts, market.store, market.project,
                                    1)
    again = _revert(chain.submit_proof, market.project, 1, genuine, payout)

    assert non_canonical.name == "ProofsNonCanonical"  # front-running with it fails
    assert bad_point.name == "ProofsRejected"
    assert one_wei.name == "ProofsRewardsRootMismatch"
    assert receipt is not None and receipt.gas_used <= 400_000
    assert again.name == "ProofsAlreadyVerified"
    assert chain.round(market.project, 1).proof_verified
    assert check_round_proof(market.owner, market.store, market.project, 1)[0] is True


def test_a_verifier_proves_a_round_its_aggregator_left_unproven(
        client_for, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The aggregator posts its claim and dies before proving: the round still finalizes.
    monkeypatch.setattr(service_module, "prove_published_round", lambda *a, **k: None)
    market = _market(client_for, tmp_path)
    notes = Notes()
    market.verifiers[0].reporter = notes  # type: ignore[assignment]

    market.play_round()

    chain = market.owner.market
    assert chain.round(market.project, 1).status == RoundStatus.FINALIZED
    assert any("left its claimed proof unproven; proved it" in n for n in notes.lines)
    assert check_round_proof(market.owner, market.store, market.project, 1)[0] is True


def test_a_claimed_round_left_unproven_is_disputed_at_the_deadline(
        client_for, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "prove_published_round", lambda *a, **k: None)
    monkeypatch.setattr(verifier_module, "prove_published_round", lambda *a, **k: None)
    monkeypatch.setattr(service_module.AggregatorService, "_prove_pending",
                        lambda *a, **k: False)
    market = _market(client_for, tmp_path)
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)
    chain = market.owner.market
    for verifier in market.verifiers[:2]:
        verifier.step(market.project)

    early = _revert(chain.finalize, market.project)
    travel_past(market.w3, chain.round(market.project, 1).deadlines.verify)
    late = _revert(chain.finalize, market.project)
    chain.advance(market.project)

    assert early.name == "FedMarketRoundUnproven"
    assert late.name == "FedMarketProofMissing"
    assert chain.round(market.project, 1).status == RoundStatus.DISPUTED
