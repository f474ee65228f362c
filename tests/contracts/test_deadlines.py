"""Deadlines: `advance` closes every stalled phase; `finish` ends a project; a full project."""

from __future__ import annotations

import pytest

from fedmarket.chain.types import ProjectStatus, RefundReason, RoundPhase, RoundStatus
from fedmarket.errors import ContractRevert
from tests.contracts.scenario import (
    AGGREGATOR,
    BOND,
    ETHER,
    OWNER,
    Scenario,
    travel_past,
)


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


def _refund_reason(sc: Scenario, receipt) -> RefundReason:  # type: ignore[no-untyped-def]
    events = sc.actor(0).market.contract.events("RoundRefunded", receipt)
    return RefundReason(events[0]["reason"])


def test_advance_before_any_deadline_refused(sc: Scenario) -> None:
    project = sc.open_project()

    err = _revert(sc.actor(6).market.advance, project)

    assert err.name == "FedMarketNothingToAdvance"
    assert err.args_decoded == (project, 1, RoundPhase.COMMIT)


def test_advance_round_without_trainers_refunds_and_opens_next(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(), rounds=3)
    market = sc.actor(9).market  # anyone, not even a member
    travel_past(sc.w3, market.deadlines(project, 1).reveal)
    assert market.phase(project, 1) == RoundPhase.EXPIRED

    receipt = market.advance(project)

    assert _refund_reason(sc, receipt) == RefundReason.NOT_ENOUGH_TRAINERS
    assert market.round(project, 1).status == RoundStatus.REFUNDED
    info = market.project(project)
    assert (info.current_round, info.escrow_wei) == (2, 3 * ETHER)
    assert market.phase(project, 2) == RoundPhase.COMMIT
    sc.assert_solvent()


def test_advance_with_reveals_below_minimum_refunds(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7), min_trainers=2)
    sc.commit(project, 1, (6,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).commit)
    sc.reveal(project, 1, (6,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).reveal)

    receipt = sc.actor(0).market.advance(project)

    assert _refund_reason(sc, receipt) == RefundReason.NOT_ENOUGH_TRAINERS


def test_advance_while_aggregator_may_still_post_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).reveal)

    err = _revert(sc.actor(0).market.advance, project)

    assert err.args_decoded == (project, 1, RoundPhase.AGGREGATE)


def test_advance_silent_aggregator_slashes_bond_to_revealed_trainers(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7), rounds=3)
    sc.commit_reveal(project, 1, (6, 7))
    market = sc.actor(6).market
    travel_past(sc.w3, market.deadlines(project, 1).result)

    receipt = market.advance(project)

    assert _refund_reason(sc, receipt) == RefundReason.AGGREGATOR_SILENT
    slashed = market.contract.events("AggregatorSlashed", receipt)
    assert slashed == [{"project": project, "aggregator": sc.address(AGGREGATOR), "bond": BOND}]
    info = market.project(project)
    assert (info.status, info.escrow_wei, info.bond_held) == (ProjectStatus.ABORTED, 0, False)
    # The owner gets its escrow back, never the bond: the bond compensates the unpaid trainers.
    assert market.credit_of(sc.address(OWNER)) == 3 * ETHER
    assert market.compensation(project, 1)[:2] == (BOND // 2, BOND)
    assert market.claim_compensation(project, 1) == BOND // 2
    assert sc.actor(7).market.claim_compensation(project, 1) == BOND // 2
    assert market.credit_of(sc.address(6)) == BOND // 2
    sc.assert_solvent()
    # Nothing is locked: trainers leave and withdraw their stakes.
    market.leave(project)
    assert sc.actor(6).registry.withdraw(0) > 0


def test_advance_absent_verifiers_refunds_round_without_slashing(sc: Scenario) -> None:
    project = sc.open_project(budget=2 * ETHER, trainers=(6,), rounds=2)
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3,))  # one vote of a quorum of two
    market = sc.actor(0).market
    travel_past(sc.w3, market.deadlines(project, 1).verify)

    receipt = market.advance(project)

    assert _refund_reason(sc, receipt) == RefundReason.NO_VERIFIER_QUORUM
    info = market.project(project)
    assert (info.status, info.current_round, info.bond_held) == (ProjectStatus.RUNNING, 2, True)
    assert info.escrow_wei == 2 * ETHER
    assert market.current_model_cid(project) == "bafkreiinitialweights"
    sc.assert_solvent()


def test_advance_after_verify_window_with_quorum_finalizes(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    tree = sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3, 4))
    market = sc.actor(0).market
    travel_past(sc.w3, market.deadlines(project, 1).verify)

    market.advance(project)

    assert market.round(project, 1).status == RoundStatus.FINALIZED
    assert sc.actor(0).rewards.round_funds(project, 1).total_wei == tree.total
    sc.assert_solvent()


def test_advance_after_last_round_closed_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.play_round(project, 1, {6: ETHER})

    err = _revert(sc.actor(0).market.advance, project)

    assert err.args_decoded == (project, 1, RoundPhase.FINALIZED)


def test_advance_unstarted_project_refused(sc: Scenario) -> None:
    project = sc.open_project(start=False)

    err = _revert(sc.actor(0).market.advance, project)

    assert err.name == "FedMarketWrongProjectStatus"
    assert err.args_decoded == (project, ProjectStatus.CREATED, ProjectStatus.RUNNING)


def test_finish_before_last_round_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,), rounds=2)
    sc.play_round(project, 1, {6: ETHER})

    err = _revert(sc.actor(0).market.finish, project)

    assert err.name == "FedMarketRoundsRemain"
    assert err.args_decoded == (project, 2, 2, RoundPhase.COMMIT)


def test_finish_credits_unspent_escrow_and_bond(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6,))
    tree = sc.play_round(project, 1, {6: ETHER})

    sc.actor(9).market.finish(project)  # anyone may finish

    market = sc.actor(0).market
    assert market.project(project).status == ProjectStatus.FINISHED
    assert market.credit_of(sc.address(OWNER)) == 3 * ETHER - tree.total
    assert market.credit_of(sc.address(AGGREGATOR)) == BOND
    sc.assert_solvent()
    assert sc.actor(AGGREGATOR).market.withdraw() == BOND
    assert sc.actor(OWNER).market.withdraw() == 2 * ETHER
    assert sc.balance(market.address) == 0


def test_finish_twice_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.play_round(project, 1, {6: ETHER})
    sc.actor(0).market.finish(project)

    err = _revert(sc.actor(0).market.finish, project)

    assert err.name == "FedMarketWrongProjectStatus"


def test_full_three_round_project_pays_out(sc: Scenario) -> None:
    trainers = (6, 7, 8)
    project = sc.open_project(budget=3 * ETHER, trainers=trainers, rounds=3)
    start = {i: sc.balance(sc.address(i)) for i in trainers}
    payouts = [
        {6: ETHER // 2, 7: ETHER // 4, 8: ETHER // 4},
        {6: ETHER // 3, 7: ETHER // 3, 8: 0},  # 8 rejected in round 2
        {6: ETHER // 5, 7: ETHER // 5, 8: ETHER // 2},
    ]
    trees = []
    for round_, amounts in enumerate(payouts, start=1):
        trees.append(sc.play_round(project, round_, amounts))
        assert sc.actor(0).market.current_model_cid(project) == f"bafkreimodel{project}r{round_}"
        sc.assert_solvent()
    sc.actor(OWNER).market.finish(project)
    for i in trainers:  # each trainer settles all three rounds, one call each
        for tree in trees:
            sc.claim(i, tree)

    market, rewards = sc.actor(0).market, sc.actor(0).rewards
    spent = sum(sum(a.values()) for a in payouts)
    assert market.credit_of(sc.address(OWNER)) == 3 * ETHER - spent
    assert rewards.total_owed() == 0
    assert sc.balance(rewards.address) == 0
    for i in trainers:
        earned = sum(a[i] for a in payouts)
        gas_allowance = ETHER // 100
        assert start[i] + earned - gas_allowance < sc.balance(sc.address(i)) <= start[i] + earned
    rep = sc.actor(0).registry.reputation(sc.address(8))
    assert (rep.accepted, rep.rejected) == (2, 1)
    sc.assert_solvent()


def test_a_role_that_closes_a_round_paying_nothing_says_why(sc: Scenario) -> None:
    from fedmarket.protocol import keep_round_moving

    project = sc.open_project(trainers=(6,), rounds=2)
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER // 2})
    sc.attest(project, 1, (3,), agree=True)
    sc.attest(project, 1, (4,), agree=False)
    market = sc.actor(6).market
    travel_past(sc.w3, market.deadlines(project, 1).verify)
    notes: list[str] = []

    done = keep_round_moving(market, project, market.round(project, 1), notes.append)

    assert done == "advance"
    assert notes == [f"project {project} round 1 contested: nothing paid; the committee split "
                     "with no side holding a majority of at least the quorum, so the result was "
                     "not paid and nobody was slashed"]
