"""FedMarket projects: posting with escrow, start, cancel, join, leave."""

from __future__ import annotations

import pytest

from fedmarket.chain.types import Membership, ParticipantKind, ProjectStatus
from fedmarket.errors import ContractRevert
from tests.contracts.scenario import (
    AGGREGATOR,
    BOND,
    ETHER,
    OWNER,
    TRAINER_STAKE,
    Scenario,
)

T, V = ParticipantKind.TRAINER, ParticipantKind.VERIFIER


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


def test_post_project_escrows_budget_and_returns_id(sc: Scenario) -> None:
    market = sc.actor(OWNER).market
    before = sc.balance(market.address)

    first = sc.post(budget=2 * ETHER)
    second = sc.post(budget=ETHER)

    assert (first, second) == (1, 2)
    info = market.project(first)
    assert info.status == ProjectStatus.CREATED
    assert info.owner == sc.address(OWNER)
    assert (info.budget_wei, info.escrow_wei) == (2 * ETHER, 2 * ETHER)
    assert info.params == sc.params()
    assert sc.balance(market.address) - before == 3 * ETHER
    assert market.project_count() == 2
    sc.assert_solvent()


@pytest.mark.parametrize("overrides, reason", [
    ({"rounds": 0}, "rounds must be positive"),
    ({"aggregator": "0x" + "00" * 20}, "aggregator is zero"),
    ({"max_trainers": 0}, "need 0 < maxTrainers and minTrainers <= maxTrainers"),
    ({"min_trainers": 5, "max_trainers": 4}, "need 0 < maxTrainers and minTrainers <= maxTrainers"),
    ({"verifier_quorum": 0}, "need 0 < verifierQuorum <= committeeSize"),
    ({"verifier_quorum": 4}, "need 0 < verifierQuorum <= committeeSize"),
    ({"committee_size": 0}, "committeeSize must be between 1 and 15"),
    ({"committee_size": 16}, "committeeSize must be between 1 and 15"),
    ({"verifier_fee_bps": 5001}, "verifierFeeBps above 5000 (half the pool)"),
])
def test_post_project_invalid_params_refused(sc: Scenario, overrides: dict[str, object],
                                             reason: str) -> None:
    err = _revert(sc.post, ETHER, **overrides)

    assert (err.name, err.args_decoded) == ("FedMarketInvalidParams", (reason,))


def test_post_project_without_budget_refused(sc: Scenario) -> None:
    err = _revert(sc.post, 0)

    assert err.args_decoded == ("budget must be positive",)


def test_post_project_owner_as_aggregator_refused(sc: Scenario) -> None:
    err = _revert(sc.post, ETHER, aggregator=sc.address(OWNER))

    assert err.args_decoded == ("aggregator must not be the owner",)


def test_start_project_by_aggregator_with_bond_opens_round_one(sc: Scenario) -> None:
    project = sc.post()

    sc.actor(AGGREGATOR).market.start_project(project, BOND)

    market = sc.actor(0).market
    info = market.project(project)
    assert (info.status, info.current_round, info.bond_held) == (ProjectStatus.RUNNING, 1, True)
    assert market.round(project, 1).pool_wei == 3 * ETHER
    sc.assert_solvent()


def test_start_project_by_other_account_refused(sc: Scenario) -> None:
    project = sc.post()

    err = _revert(sc.actor(OWNER).market.start_project, project, BOND)

    assert err.name == "FedMarketNotAggregator"
    assert err.args_decoded == (project, sc.address(OWNER), sc.address(AGGREGATOR))


def test_start_project_wrong_bond_refused(sc: Scenario) -> None:
    project = sc.post()

    err = _revert(sc.actor(AGGREGATOR).market.start_project, project, BOND - 1)

    assert (err.name, err.args_decoded) == ("FedMarketWrongBond", (project, BOND - 1, BOND))


def test_start_project_twice_refused(sc: Scenario) -> None:
    project = sc.post()
    sc.actor(AGGREGATOR).market.start_project(project, BOND)

    err = _revert(sc.actor(AGGREGATOR).market.start_project, project, BOND)

    assert err.name == "FedMarketWrongProjectStatus"
    assert err.args_decoded == (project, ProjectStatus.RUNNING, ProjectStatus.CREATED)


def test_unknown_project_refused(sc: Scenario) -> None:
    err = _revert(sc.actor(6).market.join_as_trainer, 99)

    assert (err.name, err.args_decoded) == ("FedMarketUnknownProject", (99,))


def test_cancel_project_credits_escrow_to_owner(sc: Scenario) -> None:
    project = sc.post(budget=2 * ETHER)
    market = sc.actor(OWNER).market

    market.cancel_project(project)

    assert market.project(project).status == ProjectStatus.CANCELLED
    assert market.credit_of() == 2 * ETHER
    sc.assert_solvent()
    before = sc.balance(sc.address(OWNER))
    assert market.withdraw() == 2 * ETHER
    assert sc.balance(sc.address(OWNER)) > before + 2 * ETHER - ETHER // 100
    assert market.credit_of() == 0
    sc.assert_solvent()


def test_cancel_project_by_other_account_refused(sc: Scenario) -> None:
    project = sc.post()

    err = _revert(sc.actor(AGGREGATOR).market.cancel_project, project)

    assert err.name == "FedMarketNotOwner"
    assert err.args_decoded == (project, sc.address(AGGREGATOR), sc.address(OWNER))


def test_cancel_project_after_start_refused(sc: Scenario) -> None:
    project = sc.post()
    sc.actor(AGGREGATOR).market.start_project(project, BOND)

    err = _revert(sc.actor(OWNER).market.cancel_project, project)

    assert err.name == "FedMarketWrongProjectStatus"


def test_withdraw_with_nothing_credited_refused(sc: Scenario) -> None:
    err = _revert(sc.actor(6).market.withdraw)

    assert (err.name, err.args_decoded) == ("FedMarketNothingToWithdraw", (sc.address(6),))


def test_join_as_trainer_binds_stake(sc: Scenario) -> None:
    project = sc.post()
    sc.register((6,), T)

    sc.actor(6).market.join_as_trainer(project)

    assert sc.actor(6).market.membership(project) == Membership.TRAINER
    assert sc.actor(6).registry.bindings(T) == 1
    assert sc.actor(0).market.project(project).trainer_count == 1


def test_join_as_trainer_unregistered_refused(sc: Scenario) -> None:
    project = sc.post()

    err = _revert(sc.actor(6).market.join_as_trainer, project)

    assert (err.name, err.args_decoded) == ("RegistryNotRegistered", (sc.address(6), 0))


def test_join_as_trainer_when_full_refused(sc: Scenario) -> None:
    project = sc.post(max_trainers=1)
    sc.register((6, 7), T)
    sc.actor(6).market.join_as_trainer(project)

    err = _revert(sc.actor(7).market.join_as_trainer, project)

    assert (err.name, err.args_decoded) == ("FedMarketProjectFull", (project, 1))


def test_join_as_trainer_twice_refused(sc: Scenario) -> None:
    project = sc.post()
    sc.register((6,), T)
    sc.actor(6).market.join_as_trainer(project)

    err = _revert(sc.actor(6).market.join_as_trainer, project)

    assert err.name == "FedMarketAlreadyJoined"
    assert err.args_decoded == (project, sc.address(6), Membership.TRAINER)


def test_join_as_trainer_below_min_reputation_refused(sc: Scenario) -> None:
    project = sc.post(min_reputation=1)
    sc.register((6,), T)

    err = _revert(sc.actor(6).market.join_as_trainer, project)

    assert err.name == "FedMarketReputationTooLow"
    assert err.args_decoded == (project, sc.address(6), 0, 1)


def test_join_as_trainer_with_earned_reputation_accepted(sc: Scenario) -> None:
    first = sc.open_project(trainers=(6,))
    tree = sc.play_round(first, 1, {6: ETHER})
    sc.claim(6, tree)
    picky = sc.post(min_reputation=1)

    sc.actor(6).market.join_as_trainer(picky)

    assert sc.actor(6).market.membership(picky) == Membership.TRAINER


def test_join_as_trainer_by_aggregator_refused(sc: Scenario) -> None:
    project = sc.post()
    sc.register((AGGREGATOR,), T)

    err = _revert(sc.actor(AGGREGATOR).market.join_as_trainer, project)

    assert err.name == "FedMarketConflictOfInterest"
    assert err.args_decoded == (project, sc.address(AGGREGATOR))


@pytest.mark.parametrize("duration", [0, 59])
def test_post_project_phase_below_floor_refused(sc: Scenario, duration: int) -> None:
    """Attack 7: a window no block lands in would let the owner slash or starve at will."""
    err = _revert(sc.post, ETHER, reveal_duration=duration)

    assert (err.name, err.args_decoded) == ("FedMarketPhaseTooShort", (duration, 60))


def test_post_project_with_fewer_verifiers_than_committee_refused(sc: Scenario) -> None:
    sc.register((3, 4), V)
    # Posting fills the pool to three first; ask for four seats.
    err = _revert(sc.post, ETHER, committee_size=4)

    assert (err.name, err.args_decoded) == ("FedMarketTooFewVerifiers", (3, 4))


def test_join_finished_project_refused(sc: Scenario) -> None:
    project = sc.post()
    sc.actor(OWNER).market.cancel_project(project)
    sc.register((6,), T)

    err = _revert(sc.actor(6).market.join_as_trainer, project)

    assert err.name == "FedMarketWrongProjectStatus"


def test_leave_running_project_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))

    err = _revert(sc.actor(6).market.leave, project)

    assert err.name == "FedMarketProjectActive"
    assert err.args_decoded == (project, ProjectStatus.RUNNING)


def test_leave_before_start_unbinds_and_frees_seat(sc: Scenario) -> None:
    project = sc.post(max_trainers=1)
    sc.register((6, 7), T)
    sc.actor(6).market.join_as_trainer(project)

    sc.actor(6).market.leave(project)

    assert sc.actor(6).registry.bindings(T) == 0
    sc.actor(7).market.join_as_trainer(project)
    assert sc.actor(0).market.project(project).trainer_count == 1


def test_leave_when_not_member_refused(sc: Scenario) -> None:
    project = sc.post()

    err = _revert(sc.actor(6).market.leave, project)

    assert (err.name, err.args_decoded) == ("FedMarketNotMember", (project, sc.address(6)))


def test_leave_after_finish_lets_stakes_be_withdrawn(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.play_round(project, 1, {6: ETHER})
    sc.actor(0).market.finish(project)

    sc.actor(6).market.leave(project)
    assert sc.actor(6).registry.withdraw(T) > 0
    for i in (3, 4, 5):  # verifiers hold no seat: their stakes were released at settlement
        assert sc.actor(i).registry.withdraw(V) > 0

    assert sc.actor(6).registry.stake_of(T) == 0
    assert sc.balance(sc.actor(0).registry.address) == 0
    sc.assert_solvent()


def test_stake_bound_by_two_projects_needs_both_released(sc: Scenario) -> None:
    a = sc.post()
    b = sc.post()
    sc.register((6,), T)
    sc.actor(6).market.join_as_trainer(a)
    sc.actor(6).market.join_as_trainer(b)
    sc.actor(6).market.leave(a)

    err = _revert(sc.actor(6).registry.withdraw, T)

    assert err.args_decoded == (sc.address(6), 0, 1)
    sc.actor(6).market.leave(b)
    assert sc.actor(6).registry.withdraw(T) == TRAINER_STAKE
