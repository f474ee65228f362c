"""ParticipantRegistry: stakes, locks while bound, roles, reputation."""

from __future__ import annotations

import pytest
from web3 import Web3

from fedmarket.chain.types import ParticipantKind, Reputation
from fedmarket.errors import ContractRevert
from tests.contracts.scenario import (
    AGGREGATOR,
    ETHER,
    OWNER,
    TRAINER_STAKE,
    VERIFIER_STAKE,
    Scenario,
)

T, V = ParticipantKind.TRAINER, ParticipantKind.VERIFIER


def test_register_records_stake_and_emits(sc: Scenario) -> None:
    registry = sc.actor(6).registry

    receipt = registry.register(T, TRAINER_STAKE)

    assert registry.stake_of(T) == TRAINER_STAKE
    assert registry.is_eligible(T)
    assert registry.contract.events("Registered", receipt) == [
        {"account": sc.address(6), "kind": 0, "stake": TRAINER_STAKE}]
    sc.assert_solvent()


def test_register_below_minimum_refused(sc: Scenario) -> None:
    with pytest.raises(ContractRevert) as caught:
        sc.actor(6).registry.register(V, VERIFIER_STAKE - 1)

    assert caught.value.name == "RegistryStakeTooLow"
    assert caught.value.args_decoded == (1, VERIFIER_STAKE - 1, VERIFIER_STAKE)


def test_register_twice_refused(sc: Scenario) -> None:
    sc.actor(6).registry.register(T, TRAINER_STAKE)

    with pytest.raises(ContractRevert) as caught:
        sc.actor(6).registry.register(T, TRAINER_STAKE)

    assert caught.value.name == "RegistryAlreadyRegistered"
    assert caught.value.args_decoded == (sc.address(6), 0)


def test_register_both_kinds_keeps_two_stakes(sc: Scenario) -> None:
    registry = sc.actor(6).registry

    registry.register(T, TRAINER_STAKE)
    registry.register(V, VERIFIER_STAKE)

    assert (registry.stake_of(T), registry.stake_of(V)) == (TRAINER_STAKE, VERIFIER_STAKE)
    assert registry.total_staked() == TRAINER_STAKE + VERIFIER_STAKE


def test_top_up_adds_to_stake(sc: Scenario) -> None:
    registry = sc.actor(6).registry
    registry.register(T, TRAINER_STAKE)

    registry.top_up(T, 5)

    assert registry.stake_of(T) == TRAINER_STAKE + 5
    sc.assert_solvent()


def test_top_up_unregistered_refused(sc: Scenario) -> None:
    with pytest.raises(ContractRevert) as caught:
        sc.actor(6).registry.top_up(T, 5)

    assert caught.value.name == "RegistryNotRegistered"
    assert caught.value.args_decoded == (sc.address(6), 0)


def test_top_up_zero_refused(sc: Scenario) -> None:
    sc.actor(6).registry.register(T, TRAINER_STAKE)

    with pytest.raises(ContractRevert) as caught:
        sc.actor(6).registry.top_up(T, 0)

    assert caught.value.name == "RegistryZeroTopUp"


def test_withdraw_returns_whole_stake_and_deregisters(sc: Scenario) -> None:
    registry = sc.actor(6).registry
    registry.register(T, TRAINER_STAKE)
    registry.top_up(T, 7)

    paid = registry.withdraw(T)

    assert paid == TRAINER_STAKE + 7
    assert registry.stake_of(T) == 0
    assert not registry.is_eligible(T)
    sc.assert_solvent()


def test_withdraw_while_bound_to_running_project_refused(sc: Scenario) -> None:
    sc.open_project(trainers=(6,))

    with pytest.raises(ContractRevert) as caught:
        sc.actor(6).registry.withdraw(T)

    assert caught.value.name == "RegistryStakeLocked"
    assert caught.value.args_decoded == (sc.address(6), 0, 1)


def test_withdraw_unregistered_refused(sc: Scenario) -> None:
    with pytest.raises(ContractRevert) as caught:
        sc.actor(6).registry.withdraw(V)

    assert caught.value.name == "RegistryNotRegistered"


@pytest.mark.parametrize("fn, args", [
    ("bind", (0, "0x" + "11" * 20)),
    ("unbind", (0, "0x" + "11" * 20)),
    ("recordOutcome", ("0x" + "11" * 20, True)),
])
def test_market_and_reputation_functions_refuse_other_callers(sc: Scenario, fn: str,
                                                               args: tuple[object, ...]) -> None:
    registry = sc.actor(OWNER).registry.contract
    args = tuple(Web3.to_checksum_address(a) if isinstance(a, str) else a for a in args)
    role = registry.call("REPUTATION_ROLE" if fn == "recordOutcome" else "MARKET_ROLE")

    with pytest.raises(ContractRevert) as caught:
        registry.transact(fn, *args)

    assert caught.value.name == "AccessControlUnauthorizedAccount"
    assert caught.value.args_decoded == (sc.address(OWNER), role)


def test_deployment_wires_roles_and_renounces_admin(sc: Scenario) -> None:
    c = sc.actor(0)
    registry, rewards = c.registry.contract, c.rewards.contract
    admin = registry.call("DEFAULT_ADMIN_ROLE")

    assert registry.call("hasRole", registry.call("MARKET_ROLE"), c.market.address)
    assert registry.call("hasRole", registry.call("REPUTATION_ROLE"), c.rewards.address)
    assert rewards.call("hasRole", rewards.call("FUNDER_ROLE"), c.market.address)
    assert not registry.call("hasRole", admin, sc.deployment.deployer)
    assert not rewards.call("hasRole", admin, sc.deployment.deployer)


def test_grant_role_after_deployment_refused(sc: Scenario) -> None:
    registry = sc.actor(0).registry.contract
    role = registry.call("MARKET_ROLE")

    with pytest.raises(ContractRevert) as caught:
        registry.transact("grantRole", role, sc.address(AGGREGATOR))

    assert caught.value.name == "AccessControlUnauthorizedAccount"


def test_reputation_counts_settled_leaves(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    tree = sc.play_round(project, 1, {6: ETHER, 7: 0})

    sc.claim(6, tree)
    sc.claim(7, tree)

    assert sc.actor(0).registry.reputation(sc.address(6)) == Reputation(1, 0)
    assert sc.actor(0).registry.reputation(sc.address(7)) == Reputation(0, 1)
