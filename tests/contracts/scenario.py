"""Building blocks of contract tests: named actors, a project set up to a given point, time travel.

Dev accounts: 0 deploys, 1 owns projects, 2 aggregates, 3-5 verify, 6 and up train.
Each test's chain is reverted afterwards, so the registry's verifier pool holds exactly the
verifiers a test registered: with the three of VERIFIERS and the default committee of three,
every one of them sits on every round's committee.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import ParticipantKind, ProjectParams, RoundResult
from fedmarket.merkle import REWARD_LEAF_ENCODING, StandardMerkleTree

OWNER, AGGREGATOR = 1, 2
VERIFIERS = (3, 4, 5)
TRAINERS = tuple(range(6, 20))
ETHER = 10**18
TRAINER_STAKE = ETHER // 10
VERIFIER_STAKE = ETHER // 2
BOND = ETHER
DURATION = 1_000  # seconds per phase: tests travel past deadlines explicitly


def increase_time(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block at the new time."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def chain_time(w3: Web3) -> int:
    """Timestamp of the latest block."""
    return int(w3.eth.get_block("latest")["timestamp"])


def travel_past(w3: Web3, deadline: int) -> None:
    """Move the clock just past ``deadline`` (no-op when already past)."""
    gap = deadline - chain_time(w3) + 1
    if gap > 0:
        increase_time(w3, gap)


def salt_for(trainer: int, round_: int) -> bytes:
    """A deterministic 32-byte salt per trainer and round (tests only)."""
    return Web3.keccak(text=f"salt-{trainer}-{round_}")


def cid_for(trainer: int, round_: int) -> str:
    """A CID-shaped string per trainer and round (the contract never parses it)."""
    return f"bafkreitrainer{trainer:03d}round{round_:03d}" + "a" * 30


@dataclass
class RewardTree:
    """A round's rewards tree and its leaves by trainer address."""

    tree: StandardMerkleTree
    amounts: dict[str, int]
    project: int
    round: int
    posted_total: int | None = None  # a lying aggregator may post less than the leaves sum to

    def proof(self, trainer: str) -> list[bytes]:
        for i, value in enumerate(self.tree.values):
            if value[2] == trainer:
                return self.tree.proof(i)
        raise KeyError(trainer)

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def total(self) -> int:
        if self.posted_total is not None:
            return self.posted_total
        return sum(self.amounts.values())


def reward_tree(project: int, round_: int, amounts: dict[str, int]) -> RewardTree:
    """All leaves kept, zero amounts included (they record a rejection when settled)."""
    values = [(project, round_, Web3.to_checksum_address(t), a) for t, a in amounts.items()]
    return RewardTree(StandardMerkleTree(values, REWARD_LEAF_ENCODING), dict(amounts), project,
                      round_)


@dataclass
class Scenario:
    """A deployment plus helpers that drive it as the named actors."""

    w3: Web3
    deployment: Deployment
    _actors: dict[int, MarketContracts] = field(default_factory=dict)

    def actor(self, index: int) -> MarketContracts:
        if index not in self._actors:
            client = ChainClient(self.w3, dev_account(index))
            self._actors[index] = MarketContracts.at(client, self.deployment)
        return self._actors[index]

    def address(self, index: int) -> str:
        return str(dev_account(index).address)

    def params(self, **overrides: Any) -> ProjectParams:
        base = ProjectParams(
            model_spec_cid="bafkreimodelspec", initial_weights_cid="bafkreiinitialweights",
            aggregator=self.address(AGGREGATOR), aggregator_bond_wei=BOND, rounds=1,
            min_trainers=1, max_trainers=16, verifier_quorum=2, committee_size=3,
            verifier_fee_bps=0, min_reputation=0,
            scoring_method=1, commit_duration=DURATION, reveal_duration=DURATION,
            aggregate_duration=DURATION, verify_duration=DURATION)
        return replace(base, **overrides)

    def post(self, budget: int = 3 * ETHER, **overrides: Any) -> int:
        """Post as OWNER; the verifier pool is filled first (posting needs a committee's worth)."""
        self.register(VERIFIERS, ParticipantKind.VERIFIER)
        return self.actor(OWNER).market.post_project(self.params(**overrides), budget)

    def register(self, indices: tuple[int, ...] | list[int], kind: ParticipantKind) -> None:
        stake = TRAINER_STAKE if kind == ParticipantKind.TRAINER else VERIFIER_STAKE
        for i in indices:
            registry = self.actor(i).registry
            if registry.stake_of(kind) == 0:
                registry.register(kind, stake)

    def open_project(self, budget: int = 3 * ETHER, trainers: tuple[int, ...] = (6, 7, 8),
                     start: bool = True, **overrides: Any) -> int:
        """Post, register and join the trainers, and (by default) start round 1."""
        project = self.post(budget, **overrides)
        self.register(trainers, ParticipantKind.TRAINER)
        for i in trainers:
            self.actor(i).market.join_as_trainer(project)
        if start:
            bond = self.actor(OWNER).market.project(project).params.aggregator_bond_wei
            self.actor(AGGREGATOR).market.start_project(project, bond)
        return project

    def commit(self, project: int, round_: int, trainers: tuple[int, ...]) -> None:
        for i in trainers:
            self.actor(i).market.commit_update(project, round_, cid_for(i, round_),
                                               salt_for(i, round_))

    def reveal(self, project: int, round_: int, trainers: tuple[int, ...]) -> None:
        for i in trainers:
            self.actor(i).market.reveal(project, round_, cid_for(i, round_), salt_for(i, round_))

    def commit_reveal(self, project: int, round_: int, trainers: tuple[int, ...]) -> None:
        self.commit(project, round_, trainers)
        self.reveal(project, round_, trainers)

    def result(self, project: int, round_: int, amounts: dict[int, int]) -> RewardTree:
        """Post a result paying ``amounts`` (by dev index); returns its tree."""
        tree = reward_tree(project, round_, {self.address(i): a for i, a in amounts.items()})
        self.post_tree(tree)
        return tree

    def post_tree(self, tree: RewardTree) -> TxReceipt:
        """Post a result whose rewards are ``tree`` (leaves by address)."""
        project, round_ = tree.project, tree.round
        return self.actor(AGGREGATOR).market.submit_result(project, round_, RoundResult(
            model_cid=f"bafkreimodel{project}r{round_}", result_cid=f"bafkreiresult{round_}",
            result_hash=Web3.keccak(text=f"result-{project}-{round_}"), rewards_root=tree.root,
            total_rewarded_wei=tree.total))

    def attest(self, project: int, round_: int, verifiers: tuple[int, ...],
               agree: bool = True) -> None:
        for i in verifiers:
            self.actor(i).market.attest(project, round_, agree, f"bafkreireport{i}")

    def finalize_after_window(self, project: int, round_: int) -> None:
        market = self.actor(OWNER).market
        travel_past(self.w3, market.deadlines(project, round_).verify)
        market.finalize(project)

    def play_round(self, project: int, round_: int, amounts: dict[int, int],
                   verifiers: tuple[int, ...] = (3, 4)) -> RewardTree:
        """Commit, reveal, post, attest and finalize one round with the given trainers."""
        trainers = tuple(amounts)
        self.commit_reveal(project, round_, trainers)
        tree = self.result(project, round_, amounts)
        self.attest(project, round_, verifiers)
        self.finalize_after_window(project, round_)
        return tree

    def claim(self, index: int, tree: RewardTree) -> None:
        address = self.address(index)
        self.actor(index).rewards.claim(tree.project, tree.round, tree.amounts[address],
                                        tree.proof(address))

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))

    def assert_solvent(self) -> None:
        """Each contract's balance equals everything it still owes."""
        c = self.actor(0)
        assert self.balance(c.market.address) == c.market.total_owed()
        assert self.balance(c.rewards.address) == c.rewards.total_owed()
        assert self.balance(c.registry.address) == c.registry.total_staked()


def hypothesis_profile() -> str:
    """``HYPOTHESIS_PROFILE=thorough`` runs many more stateful sequences."""
    return os.environ.get("HYPOTHESIS_PROFILE", "default")
