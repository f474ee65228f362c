"""A full market through chain and storage: two rounds, two sign-flippers, verified, paid."""

from pathlib import Path

import pytest

from fedmarket.chain.types import ProjectStatus, RoundStatus
from fedmarket.codec import decode_update
from fedmarket.modelspec import ModelSpec
from fedmarket.rewards_query import claim_rewards, rewards_of, round_result_of
from tests.e2e.market import build_market


@pytest.fixture
def market(client_for, tmp_path: Path):
    return build_market(client_for, tmp_path, trainers=6, attacks={4: "sign_flip", 5: "sign_flip"})


def test_round_rejects_sign_flippers_and_pays_only_honest_trainers(market) -> None:
    market.play_round()

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    by_address = {t.address: t for t in result.trainers}
    for trainer, behaviour in zip(market.trainers, market.behaviours, strict=True):
        entry = by_address[trainer.address]
        if behaviour == "sign_flip":
            assert not entry.accepted and entry.reward == 0
        else:
            assert entry.accepted  # paid in proportion to a positive contribution score
    honest_paid = sum(by_address[t.address].reward for t, b in
                      zip(market.trainers, market.behaviours, strict=True) if b == "honest")
    assert 0 < honest_paid == result.total <= info.pool_wei
    assert result.metrics["accuracy"] > result.metrics["base_accuracy"]


def test_trainer_update_decodes_with_the_models_shapes(market) -> None:
    market.play_round()

    info = market.owner.market.round(market.project, 1)
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    spec = ModelSpec.from_json(market.store.get(market.posted.spec_cid))
    tensors, header = decode_update(market.store.get(result.trainers[0].update_cid), spec)
    assert {k: tuple(v.shape) for k, v in tensors.items()} == spec.param_shapes()
    assert header.round == 1 and header.project == market.project


def test_two_rounds_then_claims_pay_exactly_what_was_awarded(market) -> None:
    market.play_round()
    market.play_round()
    while market.aggregator.step(market.project):  # settles rejections, then finishes
        pass

    assert market.owner.market.project(market.project).status == ProjectStatus.FINISHED
    awarded = sum(market.owner.market.round(market.project, r).total_rewarded_wei for r in (1, 2))
    earned_total = 0
    for trainer in market.trainers:
        summary = rewards_of(trainer.contracts, market.store, trainer.address)
        before = market.w3.eth.get_balance(trainer.address)
        paid, _ = claim_rewards(market.verifiers[0].contracts, market.store, trainer.address)
        assert paid == summary.earned_wei
        assert market.w3.eth.get_balance(trainer.address) == before + paid
        assert rewards_of(trainer.contracts, market.store, trainer.address).claimable_wei == 0
        earned_total += paid
    assert earned_total == awarded > 0


def test_rejections_are_settled_into_on_chain_reputation(market) -> None:
    market.play_round()
    while market.aggregator.settle_rejections(market.project, 1):
        pass

    registry = market.owner.registry
    for trainer, behaviour in zip(market.trainers, market.behaviours, strict=True):
        reputation = registry.reputation(trainer.address)
        if behaviour == "sign_flip":
            assert (reputation.accepted, reputation.rejected) == (0, 1)
        else:
            assert reputation.rejected == 0


def test_audit_passes_for_an_honest_project(market) -> None:
    from verifier.audit import audit_project

    market.play_round()
    market.play_round()
    while market.aggregator.step(market.project):
        pass

    audit = audit_project(market.owner, market.store, market.project,
                          market.deployment.start_block)

    assert audit.passed, audit.to_json()
    assert [line.round for line in audit.lines] == [1, 2, 0]


def test_round_two_compares_every_update_with_round_one_reveals(market) -> None:
    market.play_round()
    market.play_round()

    info = market.owner.market.round(market.project, 2)
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    # gather_round fetched the round-1 reveals from chain + store: every trainer has its
    # largest cosine to them recorded, and honest retraining is no replay (measured up to 0.88
    # to another trainer's with this one-epoch SGD spec; the bar is 0.95).
    assert all("stale_cosine" in t.robustness for t in result.trainers)
    honest = {t.address for t, b in zip(market.trainers, market.behaviours, strict=True)
              if b == "honest"}
    assert all(t.robustness["stale_cosine"] < 0.95 for t in result.trainers
               if t.address in honest)
    assert not any(t.reason == "stale_copy" for t in result.trainers)
