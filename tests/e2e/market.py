"""A whole market in one test process: deployed contracts, a real store, every role's client.

Roles are driven step by step (each role's ``step``) and the chain clock is moved past
deadlines explicitly, so a round takes seconds of real time while exercising exactly the code
the long-running ``run`` loops execute.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from web3 import Web3

from aggregator.service import AggregatorService
from fedmarket.chain.client import ChainClient
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import ParticipantKind
from fedmarket.compression_spec import Compression
from fedmarket.data_fit import read_options
from fedmarket.datasets import holdout_split, load_data, partition
from fedmarket.examples import Example
from fedmarket.modelspec import TrainingSpec
from fedmarket.owner import PostedProject, ProjectRequest, post_project
from fedmarket.storage.local import LocalStore
from tests.contracts.scenario import travel_past
from trainer.attacks import get as get_attack
from trainer.client import TrainerClient
from verifier.service import VerifierService

ETHER = 10**18
OWNER, AGGREGATOR = 1, 2
VERIFIERS = (3, 4, 5)
FIRST_TRAINER = 6


@dataclass
class Market:
    """Every participant of one project on the session's anvil node."""

    w3: Web3
    deployment: Deployment
    store: LocalStore
    posted: PostedProject
    owner: MarketContracts
    aggregator: AggregatorService
    verifiers: list[VerifierService]
    trainers: list[TrainerClient]
    behaviours: list[str] = field(default_factory=list)

    @property
    def project(self) -> int:
        return self.posted.project

    def round_info(self) -> Any:
        market = self.owner.market
        return market.round(self.project, market.project(self.project).current_round)

    def commit_and_reveal(self) -> None:
        """Every trainer commits and reveals; the clock then passes the reveal deadline, so the
        current round waits for the aggregator's result."""
        info = self.round_info()
        for trainer in self.trainers:
            assert trainer.step(self.project) is True  # trained and committed
        travel_past(self.w3, info.deadlines.commit)
        for trainer in self.trainers:
            trainer.step(self.project)  # revealed
        travel_past(self.w3, info.deadlines.reveal)

    def play_round(self) -> None:
        """Commit, reveal, aggregate, attest and finalize the current round."""
        self.commit_and_reveal()
        assert self.aggregator.step(self.project)
        for verifier in self.verifiers:
            assert verifier.step(self.project)
        travel_past(self.w3, self.round_info().deadlines.verify)
        assert self.aggregator.step(self.project)  # finalizes (keeps the round moving)


def build_market(client_for: Any, tmp_path: Path, *, trainers: int = 6,
                 attacks: dict[int, str] | None = None, rounds: int = 2,
                 rule_params: dict[str, Any] | None = None, quorum: int = 2,
                 scoring: str | None = None, prove: bool = False,
                 example: Example | None = None, rule: str | None = "multi_krum",
                 compression: Compression | None = None,
                 tokenizer: Path | None = None,
                 training: TrainingSpec | None = None) -> Market:
    """Deploy, post a digits project, register and join everyone; round 1 open.

    ``prove`` has the aggregator claim and prove each round with Groth16 (seconds per round).
    ``rule`` with ``rule_params`` None: Multi-Krum f=1 keeping all but two, else no params
    (``rule`` None: the owner's default pipeline for data with validation, ``trusted``).
    ``compression`` has every trainer send its updates compressed (the spec's section).
    ``tokenizer`` (a text example): the owner posts that `tokenizers` JSON file and every text
    file is tokenized with it. ``training`` replaces the default local training.
    ``example`` posts that example project instead (:mod:`fedmarket.examples`): its files are
    written under ``tmp_path`` and read back by the owner and each trainer as real ones are.
    """
    attacks = attacks or {}
    deployment = deploy_contracts(client_for(0))
    store = LocalStore(tmp_path / "store", fsync=False)

    def contracts(index: int) -> MarketContracts:
        client: ChainClient = client_for(index)
        return MarketContracts.at(client, deployment)

    owner = contracts(OWNER)
    # Verifiers register before the project is posted and join nothing: the committee of every
    # round is drawn from all of them (here all three sit).
    for index in VERIFIERS:
        contracts(index).registry.register(ParticipantKind.VERIFIER, ETHER // 2)
    request = ProjectRequest(
        budget_wei=6 * ETHER, aggregator=client_for(AGGREGATOR).address, rounds=rounds,
        rule=rule, rule_params=rule_params if rule_params is not None else (
            {"f": 1, "m": trainers - 2} if rule == "multi_krum" else {}),
        scoring=scoring, min_trainers=5, verifier_quorum=quorum,
        committee_size=len(VERIFIERS), commit_duration=600,
        reveal_duration=600, aggregate_duration=600, verify_duration=600,
        compression=compression or Compression(),
        tokenizer=None if tokenizer is None else str(tokenizer),
        **({} if training is None else {"training": training}))
    split = example.split(trainers, tmp_path / "example") if example else None
    if example and split:
        request = replace(request, model=example.model, arch=example.arch,
                          input_shape=example.input_shape, num_classes=example.num_classes,
                          training=example.training, validation=str(split.validation_path))
    if example and example.pretrain:  # the owner pre-trains the base before posting
        base = example.pretrain(tmp_path / "example" / "base.safetensors")
        request = replace(request, lora_rank=example.lora_rank, lora_alpha=example.lora_alpha,
                          lora_freeze_a=example.lora_freeze_a, base_weights=str(base))
    posted = post_project(owner, store, request)

    verifiers = []
    for index in VERIFIERS:
        c = contracts(index)
        verifiers.append(VerifierService(c, store, deployment.start_block))
    if split:
        options = read_options(posted.spec)
        shards = [load_data(path, options) for path in split.shard_paths]
    else:
        rest, _ = holdout_split(load_data("digits"), fraction=0.2, seed=0)
        shards = partition(rest, trainers, alpha=None, seed=1)
    clients = []
    behaviours = []
    for i in range(trainers):
        c = contracts(FIRST_TRAINER + i)
        c.registry.register(ParticipantKind.TRAINER, ETHER // 10)
        c.market.join_as_trainer(posted.project)
        attack = get_attack(attacks[i]) if i in attacks else None
        behaviours.append(attacks.get(i, "honest"))
        clients.append(TrainerClient(c, store, shards[i], tmp_path / f"pending-{i}",
                                     device="cpu", attack=attack))
    aggregator = AggregatorService(contracts(AGGREGATOR), store, deployment.start_block,
                                   prove=prove)
    aggregator.start(posted.project)
    return Market(client_for(0).w3, deployment, store, posted, owner, aggregator, verifiers,
                  clients, behaviours)
