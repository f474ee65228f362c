"""The eight attacks of issue 13, each played as the attacker would, each failing to profit.

Each test names the attacker, does what that attacker can do with the public interface (and
as many fresh addresses as it likes), and asserts that the attack reverts or leaves the
attacker no richer while the victims are paid or refunded. The argument (who can gain what, at
what cost) is in ``contracts/README.md``.
"""

from __future__ import annotations

import pytest

from fedmarket.chain.types import (
    ParticipantKind,
    ProjectStatus,
    RefundReason,
    RoundPhase,
    RoundStatus,
)
from fedmarket.errors import ContractRevert
from tests.contracts.scenario import (
    AGGREGATOR,
    BOND,
    ETHER,
    OWNER,
    TRAINER_STAKE,
    VERIFIER_STAKE,
    Scenario,
    cid_for,
    reward_tree,
    salt_for,
    travel_past,
)

T, V = ParticipantKind.TRAINER, ParticipantKind.VERIFIER
SYBILS = (20, 21, 22)  # fresh dev accounts an attacker controls


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


def _worth(sc: Scenario, index: int) -> int:
    """What an actor holds or is owed: balance, market credit and registry stakes."""
    c = sc.actor(index)
    return (sc.balance(sc.address(index)) + c.market.credit_of()
            + c.registry.stake_of(T) + c.registry.stake_of(V))


def test_attack1_owner_cannot_stack_the_verdict_after_the_round_started(sc: Scenario) -> None:
    """The owner registers fresh verifiers during the verify window to dispute an honest round:
    they are not on the committee (drawn from verifiers registered by the round's start)."""
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7), verifier_fee_bps=500)
    sc.commit_reveal(project, 1, (6, 7))
    pool = sc.actor(0).market.round(project, 1).trainer_pool_wei
    tree = sc.result(project, 1, {6: pool // 2, 7: pool // 2})
    sc.w3.eth.send_transaction({"from": sc.address(OWNER), "to": sc.address(20),
                                "value": 5 * ETHER})
    sc.register(SYBILS, V)

    for sybil in SYBILS:
        err = _revert(sc.actor(sybil).market.attest, project, 1, False, "bafkreilie")
        assert (err.name, err.args_decoded) == ("FedMarketNotOnCommittee",
                                                (project, 1, sc.address(sybil)))
    # Nor can the owner itself, the aggregator or a trainer of the project sit.
    for party in (OWNER, AGGREGATOR, 6):
        sc.register((party,), V)
        assert not sc.actor(0).market.on_committee(project, 1, sc.address(party))

    sc.attest(project, 1, (3, 4))  # two of three seats settle the round
    sc.actor(OWNER).market.finalize(project)
    for trainer in (6, 7):
        sc.claim(trainer, tree)
    assert sc.actor(6).rewards.is_claimed(project, 1)
    assert sc.actor(0).market.round(project, 1).status == RoundStatus.FINALIZED
    sc.assert_solvent()


def test_attack1_a_won_dispute_pays_the_owner_its_escrow_never_the_bond(sc: Scenario) -> None:
    """Even a verdict the owner managed to win returns only the unpaid escrow (less the fee the
    checking earned): the aggregator's bond goes to the round's revealed trainers."""
    project = sc.open_project(budget=2 * ETHER, trainers=(6, 7), verifier_fee_bps=500)
    sc.commit_reveal(project, 1, (6, 7))
    sc.result(project, 1, {6: ETHER // 2})
    sc.attest(project, 1, (3, 4), agree=False)  # suppose the owner bribed two of three seats
    owner = sc.actor(OWNER).market

    owner.advance(project)

    fee = 2 * ETHER * 500 // 10_000
    assert owner.credit_of() == 2 * ETHER - fee
    assert owner.compensation(project, 1)[:2] == (BOND // 2, BOND)
    assert sc.actor(6).market.claim_compensation(project, 1) == BOND // 2
    assert sc.actor(7).market.claim_compensation(project, 1) == BOND // 2
    sc.assert_solvent()


def test_attack2_aggregator_cannot_pay_an_address_of_its_own(sc: Scenario) -> None:
    """The aggregator posts a tree paying the whole trainer pool to an address of its own that
    never revealed; even if the committee let it through, the leaf does not settle and the
    ether returns to the owner after the claim window."""
    project = sc.open_project(budget=2 * ETHER, trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))
    pool = sc.actor(0).market.round(project, 1).trainer_pool_wei
    stooge = sc.address(SYBILS[0])
    tree = reward_tree(project, 1, {stooge: pool})
    sc.post_tree(tree)
    sc.attest(project, 1, (3, 4))  # a captured (or careless) committee agrees
    sc.actor(OWNER).market.finalize(project)
    before = _worth(sc, SYBILS[0])

    err = _revert(sc.actor(SYBILS[0]).rewards.claim, project, 1, pool, tree.proof(stooge))

    assert (err.name, err.args_decoded) == ("DistributorNotARoundTrainer",
                                            (project, 1, stooge))
    assert _worth(sc, SYBILS[0]) <= before
    rewards = sc.actor(9).rewards
    travel_past(sc.w3, rewards.round_funds(project, 1).funded_at + rewards.claim_window())
    rewards.reclaim_expired(project, 1)
    owner = sc.actor(OWNER).market
    assert owner.credit_of() == pool  # the round's pool came back (round 2's escrow follows)
    sc.assert_solvent()


def test_attack2_aggregator_cannot_seat_verifiers_of_its_own(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.register((AGGREGATOR, *SYBILS), V)  # after the round started

    for who in (AGGREGATOR, *SYBILS):
        assert not sc.actor(0).market.on_committee(project, 1, sc.address(who))


def test_attack3_reputation_can_neither_be_bought_nor_poisoned(sc: Scenario) -> None:
    """A throw-away project (1 wei, every role its own) settles leaves for addresses that never
    took part: a zero leaf to poison a victim, a positive one to sell reputation."""
    victim, buyer = 10, 11
    sc.register((victim, buyer), T)
    project = sc.open_project(budget=1, trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    tree = reward_tree(project, 1, {sc.address(victim): 0, sc.address(buyer): 1,
                                    sc.address(6): 0})
    sc.post_tree(tree)
    sc.attest(project, 1, (3, 4))
    sc.actor(OWNER).market.finalize(project)

    for who, amount in ((victim, 0), (buyer, 1)):
        address = sc.address(who)
        err = _revert(sc.actor(OWNER).rewards.claim, project, 1, amount, tree.proof(address),
                      trainer=address)
        assert err.name == "DistributorNotARoundTrainer"
    registry = sc.actor(0).registry
    for who in (victim, buyer):
        assert registry.reputation(sc.address(who)).score == 0
    # The round's own trainer moves once, and only once.
    sc.claim(6, tree)
    assert registry.reputation(sc.address(6)).score == -1
    assert _revert(sc.claim, 6, tree).name == "DistributorAlreadyClaimed"
    assert registry.reputation(sc.address(6)).score == -1


def test_attack4_early_reveal_cannot_be_copied(sc: Scenario) -> None:
    """A registered non-member sees the first reveal (commits were all in, so reveals opened
    early), joins and commits over the victim's CID: refused, it only takes part next round."""
    project = sc.open_project(trainers=(6, 7), rounds=2)
    sc.commit(project, 1, (6, 7))
    sc.reveal(project, 1, (6,))
    copier = SYBILS[0]
    sc.register((copier,), T)
    sc.actor(copier).market.join_as_trainer(project)
    market = sc.actor(copier).market

    err = _revert(market.commit_update, project, 1, cid_for(6, 1), salt_for(copier, 1))

    assert err.name == "FedMarketJoinedTooLate"
    # Neither can an old member who did commit swap in a copy: its commitment is fixed.
    err = _revert(sc.actor(7).market.reveal, project, 1, cid_for(6, 1), salt_for(7, 1))
    assert err.name == "FedMarketRevealMismatch"


def test_attack5_no_ether_stays_in_the_distributor(sc: Scenario) -> None:
    """A posted total above the leaves' sum, and a leaf nobody settles: after the claim window
    the remainder returns to the owner, who can withdraw it."""
    project = sc.open_project(budget=2 * ETHER, trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))
    tree = reward_tree(project, 1, {sc.address(6): ETHER // 4, sc.address(7): ETHER // 4})
    tree.posted_total = ETHER  # half of it matches no leaf
    sc.post_tree(tree)
    sc.attest(project, 1, (3, 4))
    sc.actor(OWNER).market.finalize(project)
    sc.claim(6, tree)  # trainer 7 never claims
    rewards = sc.actor(9).rewards
    expires = rewards.round_funds(project, 1).funded_at + rewards.claim_window()
    assert _revert(rewards.reclaim_expired, project, 1).name == "DistributorClaimWindowOpen"
    travel_past(sc.w3, expires)

    rewards.reclaim_expired(project, 1)

    assert sc.balance(rewards.address) == 0
    assert _revert(sc.claim, 7, tree).name == "DistributorClaimExpired"
    owner = sc.actor(OWNER).market
    assert owner.credit_of() == ETHER - ETHER // 4
    owner.finish(project)
    assert owner.withdraw() == 2 * ETHER - ETHER // 4
    sc.assert_solvent()


def test_attack5_unclaimed_compensation_is_burned_not_kept(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))
    market = sc.actor(9).market
    travel_past(sc.w3, market.deadlines(project, 1).result)
    market.advance(project)  # silent aggregator: its bond compensates trainers 6 and 7
    assert sc.actor(6).market.claim_compensation(project, 1) == BOND // 2
    expires = market.compensation(project, 1)[2]
    assert _revert(market.burn_expired_compensation, project, 1).name \
        == "FedMarketCompensationOpen"
    travel_past(sc.w3, expires)

    market.burn_expired_compensation(project, 1)

    assert _revert(sc.actor(7).market.claim_compensation, project, 1).name \
        == "FedMarketCompensationExpired"
    assert sc.balance("0x000000000000000000000000000000000000dEaD") >= BOND // 2
    sc.assert_solvent()
    assert market.total_owed() == sc.balance(market.address)


def test_attack6_seat_squatters_are_released_and_pay(sc: Scenario) -> None:
    """Sybil trainers take every seat and never commit: once commits are over anyone releases
    them, each pays a tenth of the minimum stake into the escrow and may not come back."""
    squatters = (20, 21)
    for s in squatters:
        sc.w3.eth.send_transaction({"from": sc.address(0), "to": sc.address(s),
                                    "value": ETHER})
    project = sc.open_project(budget=2 * ETHER, trainers=squatters, rounds=2, max_trainers=2)
    sc.register((6,), T)
    assert _revert(sc.actor(6).market.join_as_trainer, project).name == "FedMarketProjectFull"
    market = sc.actor(6).market
    travel_past(sc.w3, market.deadlines(project, 1).commit)

    for s in squatters:
        market.release(project, sc.address(s))

    penalty = TRAINER_STAKE // 10
    for s in squatters:
        assert sc.actor(s).registry.stake_of(T) == TRAINER_STAKE - penalty
        assert _revert(sc.actor(s).market.join_as_trainer, project).name \
            == "FedMarketWasReleased"
    assert market.project(project).escrow_wei == 2 * ETHER + 2 * penalty
    market.join_as_trainer(project)  # the honest trainer takes a freed seat
    travel_past(sc.w3, market.deadlines(project, 1).reveal)
    market.advance(project)  # round 1 had no trainer: refunded, round 2 starts
    assert market.round(project, 1).status == RoundStatus.REFUNDED
    sc.commit_reveal(project, 2, (6,))
    assert market.round(project, 2).reveals == 1
    sc.assert_solvent()


def test_attack6_a_committed_trainer_cannot_be_released(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6,))
    market = sc.actor(7).market
    travel_past(sc.w3, market.deadlines(project, 1).commit)

    err = _revert(market.release, project, sc.address(6))

    assert err.name == "FedMarketSeatNotReleasable"


@pytest.mark.parametrize("phase", ["commit_duration", "reveal_duration", "aggregate_duration",
                                   "verify_duration"])
def test_attack7_a_window_no_block_lands_in_is_refused(sc: Scenario, phase: str) -> None:
    owner = sc.actor(OWNER).market
    floor = owner.min_phase_duration()

    err = _revert(sc.post, ETHER, **{phase: 1})

    assert (err.name, err.args_decoded) == ("FedMarketPhaseTooShort", (1, floor))
    assert floor >= 60  # five 12-second blocks


def test_attack8_no_single_revealer_chooses_the_seed(sc: Scenario) -> None:
    """The seed (committee draw and sketches) mixes every revealed salt: what the first revealer
    sees after its own reveal is not the seed, and a later salt, committed before any reveal,
    changes it. The last revealer's only lever is to withhold, which forfeits its reward."""
    project = sc.open_project(trainers=(6, 7, 8))
    sc.commit(project, 1, (6, 7, 8))
    market = sc.actor(0).market
    seen = []
    for trainer in (6, 7, 8):
        sc.reveal(project, 1, (trainer,))
        seen.append(market.round_seed(project, 1))

    assert len(set(seen)) == 3
    tree = sc.result(project, 1, {6: 1, 7: 1, 8: 1})
    assert market.round_seed(project, 1) == seen[-1]  # reveals are over: the seed is final
    assert tree.total == 3


def test_no_attacker_ends_richer_in_a_full_honest_round(sc: Scenario) -> None:
    """Bookkeeping of a fee-paying round: trainers get their leaves, the committee its fee, the
    owner the rest; nobody else moves."""
    project = sc.open_project(budget=ETHER, trainers=(6, 7), verifier_fee_bps=1_000)
    sc.commit_reveal(project, 1, (6, 7))
    info = sc.actor(0).market.round(project, 1)
    assert (info.fee_wei, info.trainer_pool_wei) == (ETHER // 10, ETHER - ETHER // 10)
    too_much = reward_tree(project, 1, {sc.address(6): info.trainer_pool_wei + 1})
    assert _revert(sc.post_tree, too_much).name == "FedMarketRewardExceedsPool"
    tree = sc.result(project, 1, {6: info.trainer_pool_wei // 2, 7: info.trainer_pool_wei // 2})
    sc.attest(project, 1, (3, 4))
    market = sc.actor(OWNER).market
    assert _revert(sc.actor(5).market.attest, project, 1, True, "late").name \
        == "FedMarketAttestNotOpen"  # the verdict was settled by two of three seats
    market.finalize(project)
    market.finish(project)

    assert [sc.actor(v).market.credit_of() for v in (3, 4, 5)] == [ETHER // 20, ETHER // 20, 0]
    assert market.credit_of() == ETHER - ETHER // 10 - tree.total
    assert market.project(project).status == ProjectStatus.FINISHED
    assert market.round(project, 1).phase == RoundPhase.FINALIZED
    assert sc.actor(3).registry.stake_of(V) == VERIFIER_STAKE  # winners keep their stakes


def test_contested_round_refunds_without_paying_or_slashing_anyone(sc: Scenario) -> None:
    """One agree, one disagree, the third seat silent: no side holds the quorum, so the round
    goes to nobody who merely voted first; its pool (fee included) stays in the escrow."""
    project = sc.open_project(budget=2 * ETHER, trainers=(6,), rounds=2, verifier_fee_bps=1_000)
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER // 2})
    sc.attest(project, 1, (3,), agree=True)
    sc.attest(project, 1, (4,), agree=False)
    market = sc.actor(9).market
    travel_past(sc.w3, market.deadlines(project, 1).verify)

    receipt = market.advance(project)

    refunded = market.contract.events("RoundRefunded", receipt)
    assert RefundReason(refunded[0]["reason"]) == RefundReason.CONTESTED
    assert market.project(project).escrow_wei == 2 * ETHER
    for v in (3, 4):
        assert sc.actor(v).registry.stake_of(V) == VERIFIER_STAKE
        assert sc.actor(v).market.credit_of() == 0
        assert sc.actor(v).registry.bindings(V) == 0
    sc.assert_solvent()
