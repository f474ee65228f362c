"""RewardDistributor: Merkle claims, no double claim, caps, multi-round claims, roles."""

from __future__ import annotations

import pytest

from fedmarket.chain.types import RewardClaim
from fedmarket.errors import ContractRevert
from fedmarket.merkle import reward_tree as merkle_reward_tree
from tests.contracts.scenario import ETHER, OWNER, Scenario, reward_tree


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture
def paid_round(sc: Scenario):  # type: ignore[no-untyped-def]
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7, 8))
    tree = sc.play_round(project, 1, {6: ETHER, 7: ETHER // 2, 8: 0})
    return project, tree


def test_claim_pays_trainer_once(sc: Scenario, paid_round) -> None:  # type: ignore[no-untyped-def]
    project, tree = paid_round
    rewards = sc.actor(6).rewards
    before = sc.balance(sc.address(6))

    receipt = rewards.claim(project, 1, ETHER, tree.proof(sc.address(6)))

    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert sc.balance(sc.address(6)) == before + ETHER - fee
    assert rewards.is_claimed(project, 1)
    assert rewards.round_funds(project, 1).claimed_wei == ETHER
    sc.assert_solvent()


def test_claim_twice_refused(sc: Scenario, paid_round) -> None:  # type: ignore[no-untyped-def]
    project, tree = paid_round
    sc.claim(6, tree)

    err = _revert(sc.claim, 6, tree)

    assert err.name == "DistributorAlreadyClaimed"
    assert err.args_decoded == (project, 1, sc.address(6))


def test_claim_by_anyone_pays_the_leaf_trainer(sc: Scenario, paid_round) -> None:  # type: ignore[no-untyped-def]
    project, tree = paid_round
    before = sc.balance(sc.address(7))

    sc.actor(OWNER).rewards.claim(project, 1, ETHER // 2, tree.proof(sc.address(7)),
                                  trainer=sc.address(7))

    assert sc.balance(sc.address(7)) == before + ETHER // 2


def test_claim_wrong_amount_refused(sc: Scenario, paid_round) -> None:  # type: ignore[no-untyped-def]
    project, tree = paid_round

    err = _revert(sc.actor(6).rewards.claim, project, 1, 2 * ETHER, tree.proof(sc.address(6)))

    assert err.name == "DistributorInvalidProof"
    assert err.args_decoded == (project, 1, sc.address(6), 2 * ETHER)


def test_claim_unfunded_round_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    tree = sc.result(project, 1, {6: ETHER})  # posted, not finalized

    err = _revert(sc.claim, 6, tree)

    assert (err.name, err.args_decoded) == ("DistributorRoundNotFunded", (project, 1))


def test_claim_beyond_posted_total_refused(sc: Scenario) -> None:
    # A wrong root whose leaves sum to more than the posted total cannot overpay.
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))
    honest = reward_tree(project, 1, {sc.address(6): ETHER, sc.address(7): ETHER})
    bad = reward_tree(project, 1, {sc.address(6): 2 * ETHER, sc.address(7): 2 * ETHER})
    bad.posted_total = honest.total
    sc.post_tree(bad)
    sc.attest(project, 1, (3, 4))
    sc.finalize_after_window(project, 1)
    sc.claim(6, bad)

    err = _revert(sc.claim, 7, bad)

    assert err.name == "DistributorRoundOverclaimed"
    assert err.args_decoded == (project, 1, 2 * ETHER, 2 * ETHER, 2 * ETHER)
    sc.assert_solvent()


def test_claim_many_pays_several_rounds_in_one_transfer(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7), rounds=2)
    t1 = sc.play_round(project, 1, {6: ETHER, 7: ETHER // 4})
    t2 = sc.play_round(project, 2, {6: ETHER // 2, 7: ETHER // 4})
    me = sc.address(6)
    before = sc.balance(me)

    receipt = sc.actor(6).rewards.claim_many([
        RewardClaim(project, 1, ETHER, t1.proof(me)),
        RewardClaim(project, 2, ETHER // 2, t2.proof(me)),
    ])

    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert sc.balance(me) == before + ETHER + ETHER // 2 - fee
    assert sc.actor(6).rewards.is_claimed(project, 2)
    assert sc.actor(0).registry.reputation(me).accepted == 2
    sc.assert_solvent()


def test_claim_many_with_a_repeated_leaf_refused(sc: Scenario, paid_round) -> None:  # type: ignore[no-untyped-def]
    project, tree = paid_round
    leaf = RewardClaim(project, 1, ETHER, tree.proof(sc.address(6)))

    err = _revert(sc.actor(6).rewards.claim_many, [leaf, leaf])

    assert err.name == "DistributorAlreadyClaimed"


def test_claim_many_empty_refused(sc: Scenario) -> None:
    err = _revert(sc.actor(6).rewards.claim_many, [])

    assert err.name == "DistributorEmptyClaim"


def test_fund_round_by_other_account_refused(sc: Scenario) -> None:
    rewards = sc.actor(OWNER).rewards.contract

    err = _revert(rewards.transact, "fundRound", 1, 1, b"\x01" * 32, 5, value=5)

    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args_decoded == (sc.address(OWNER), rewards.call("FUNDER_ROLE"))


def test_tree_of_fedmarket_merkle_claims_on_chain(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))
    payouts = [(sc.address(6), ETHER), (sc.address(7), ETHER // 3)]
    tree = merkle_reward_tree(project, 1, payouts)
    assert tree is not None
    wrapped = reward_tree(project, 1, dict(payouts))
    assert wrapped.root == tree.root
    sc.post_tree(wrapped)
    sc.attest(project, 1, (3, 4))
    sc.finalize_after_window(project, 1)

    sc.actor(7).rewards.claim(project, 1, ETHER // 3, tree.proof(1))

    assert sc.actor(7).rewards.is_claimed(project, 1)
