"""A payee that re-enters the paying function is refused by every payout path."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from fedmarket.chain.client import BoundContract, ChainClient, dev_account
from fedmarket.chain.compile import Artifact, compile_contracts
from fedmarket.chain.errors_abi import decode_revert
from fedmarket.chain.types import ParticipantKind, commitment_for
from tests.contracts.scenario import BOND, ETHER, TRAINER_STAKE, Scenario, reward_tree

SOL = Path(__file__).parent / "sol"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    return compile_contracts(SOL, tmp_path_factory.mktemp("hostile-build"))


@pytest.fixture
def reenterer(sc: Scenario, hostile: dict[str, Artifact]) -> BoundContract:
    client = ChainClient(sc.w3, dev_account(30), artifacts=hostile)
    contract, _ = client.deploy("Reenterer")
    return contract


def _as(reenterer: BoundContract, target: BoundContract, fn: str, *args: object,
        value: int = 0) -> None:
    data = target.contract.encode_abi(fn, args=list(args))
    reenterer.transact("execute", target.address, data, value=value)


def _arm(reenterer: BoundContract, target: BoundContract, fn: str, *args: object) -> None:
    reenterer.transact("arm", target.address, target.contract.encode_abi(fn, args=list(args)))


def _assert_reentry_refused(reenterer: BoundContract, paid: int) -> None:
    assert reenterer.call("reentryAttempted")
    assert not reenterer.call("reentrySucceeded")
    err = decode_revert(reenterer.call("reentryError"))
    assert err.name == "ReentrancyGuardReentrantCall"
    assert reenterer.call("received") == paid


def test_withdraw_reentry_refused(sc: Scenario, reenterer: BoundContract) -> None:
    market = sc.actor(0).market.contract
    params = sc.params()
    sc.register((3, 4, 5), ParticipantKind.VERIFIER)  # posting needs a committee's worth
    _as(reenterer, market, "postProject", params.to_abi(), value=2 * ETHER)
    _as(reenterer, market, "cancelProject", 1)
    _arm(reenterer, market, "withdraw")

    _as(reenterer, market, "withdraw")

    _assert_reentry_refused(reenterer, 2 * ETHER)
    assert sc.actor(0).market.credit_of(reenterer.address) == 0
    sc.assert_solvent()


def test_registry_withdraw_reentry_refused(sc: Scenario, reenterer: BoundContract) -> None:
    registry = sc.actor(0).registry.contract
    _as(reenterer, registry, "register", 0, value=TRAINER_STAKE)
    _arm(reenterer, registry, "withdraw", 0)

    _as(reenterer, registry, "withdraw", 0)

    _assert_reentry_refused(reenterer, TRAINER_STAKE)
    sc.assert_solvent()


def test_claim_reentry_refused(sc: Scenario, reenterer: BoundContract) -> None:
    c = sc.actor(0)
    project = sc.open_project(trainers=(6,), start=False)
    who = Web3.to_checksum_address(reenterer.address)
    salt = b"\x07" * 32
    _as(reenterer, c.registry.contract, "register", int(ParticipantKind.TRAINER),
        value=TRAINER_STAKE)
    _as(reenterer, c.market.contract, "joinAsTrainer", project)
    sc.actor(2).market.start_project(project, BOND)  # members who joined before round 1 commit
    _as(reenterer, c.market.contract, "commit", project, 1,
        commitment_for("bafkreihostile", salt, who, project, 1))
    sc.commit(project, 1, (6,))
    _as(reenterer, c.market.contract, "reveal", project, 1, "bafkreihostile", salt)
    sc.reveal(project, 1, (6,))
    tree = reward_tree(project, 1, {who: ETHER, sc.address(6): ETHER // 2})
    sc.post_tree(tree)
    sc.attest(project, 1, (3, 4))
    sc.finalize_after_window(project, 1)
    rewards = c.rewards.contract
    _arm(reenterer, rewards, "claim", project, 1, who, ETHER, tree.proof(who))

    c.rewards.claim(project, 1, ETHER, tree.proof(who), trainer=who)

    _assert_reentry_refused(reenterer, ETHER)
    assert c.rewards.round_funds(project, 1).claimed_wei == ETHER
    sc.assert_solvent()
