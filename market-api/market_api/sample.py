"""A sample market on the local dev chain: one project played to the end by dev accounts.

The tests, the benchmark and anyone trying the dashboard use it to get real data: every
step is a real transaction through the typed bindings, every round result is real canonical
JSON (with accuracy metrics) put into the given content store under its real CID. Dev
accounts (anvil's public keys, local chain only): 1 owns, 2 aggregates, 3-5 are the registry's
verifiers, 6.. train.

Verifiers do not join projects: each round's committee is drawn from the registry's whole
pool, so the sample registers at least ``committee_size`` verifiers before it posts (a
committee only seats verifiers registered before the round started). By default round 1 has
one dissenting vote, which the majority outvotes: the dissenter is slashed and the winners
share the round's verifier fee and the slashed stake.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from web3 import Web3

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import ParticipantKind, ProjectParams, RoundResult
from fedmarket.merkle import reward_tree
from fedmarket.modelspec import ModelSpec
from fedmarket.round_result import RoundResult as ResultJson
from fedmarket.round_result import TrainerEntry, payout_leaves
from fedmarket.storage.base import ContentStore

__all__ = ["SampleMarket", "SampleProject", "OWNER", "AGGREGATOR", "VERIFIERS", "FIRST_TRAINER"]

OWNER, AGGREGATOR, VERIFIERS, FIRST_TRAINER = 1, 2, (3, 4, 5), 6
ETHER = 10**18
PHASE = 1_000  # seconds per phase; the sample travels past deadlines with evm_increaseTime
QUORUM = 2  # of a committee of len(VERIFIERS): one dissenter is outvoted
FEE_BPS = 500  # 5 % of each pool to the winning verifiers
# The spec the sample project posts: the dashboard shows its task and model.
SAMPLE_SPEC = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(32,))
# Votes by dev account, cast in this order (a dissent first: once a side holds more than half
# of the seats the verdict is final and voting closes). None: the default of each round.
Votes = Mapping[int, bool]


@dataclass
class SampleProject:
    """What the sample published, for assertions and benchmarks."""

    project: int
    trainers: list[str]  # checksummed, in dev-account order
    rejected: str  # the trainer whose updates are rejected every round
    rounds: int
    rewards: dict[tuple[int, str], int] = field(default_factory=dict)  # (round, trainer) -> wei
    result_cids: dict[int, str] = field(default_factory=dict)
    claimed_by: str | None = None
    outcomes: dict[int, str] = field(default_factory=dict)  # round -> finalized | ...


class SampleMarket:
    """Drives dev accounts through projects on a local node with a deployment."""

    def __init__(self, w3: Web3, deployment: Deployment, store: ContentStore):
        self.w3 = w3
        self.deployment = deployment
        self.store = store
        self._actors: dict[int, MarketContracts] = {}

    def actor(self, index: int) -> MarketContracts:
        """The contracts bound for dev account ``index``."""
        if index not in self._actors:
            client = ChainClient(self.w3, dev_account(index))
            self._actors[index] = MarketContracts.at(client, self.deployment)
        return self._actors[index]

    def _travel(self, deadline: int) -> None:
        gap = deadline - int(self.w3.eth.get_block("latest")["timestamp"]) + 1
        if gap > 0:
            self.w3.provider.make_request("evm_increaseTime", [gap])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def register_verifiers(self) -> None:
        """Stake every sample verifier in the registry, topping up one slashed below minimum.

        A second then passes, so they are registered before the next round starts (a
        committee seats only verifiers registered strictly before).
        """
        for i in VERIFIERS:
            registry = self.actor(i).registry
            minimum = registry.min_stake(ParticipantKind.VERIFIER)
            stake = registry.stake_of(ParticipantKind.VERIFIER)
            if stake == 0:
                registry.register(ParticipantKind.VERIFIER, minimum)
            elif stake < minimum:
                registry.top_up(ParticipantKind.VERIFIER, minimum - stake)
        self.w3.provider.make_request("evm_increaseTime", [1])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def post(self, trainers: int = 3, rounds: int = 2, budget: int = 3 * ETHER) -> SampleProject:
        """Register the verifiers, post a project, register and join the trainers, start."""
        self.register_verifiers()
        owner = self.actor(OWNER).market
        params = ProjectParams(
            model_spec_cid=self.store.put(SAMPLE_SPEC.to_bytes()),
            initial_weights_cid=self.store.put(b"initial weights"),
            aggregator=str(dev_account(AGGREGATOR).address), aggregator_bond_wei=ETHER // 2,
            rounds=rounds, min_trainers=1, max_trainers=32, verifier_quorum=QUORUM,
            committee_size=len(VERIFIERS), verifier_fee_bps=FEE_BPS,
            commit_duration=PHASE, reveal_duration=PHASE, aggregate_duration=PHASE,
            verify_duration=PHASE)
        project = owner.post_project(params, budget)
        indices = list(range(FIRST_TRAINER, FIRST_TRAINER + trainers))
        for i in indices:
            registry = self.actor(i).registry
            if registry.stake_of(ParticipantKind.TRAINER) == 0:
                registry.register(ParticipantKind.TRAINER, ETHER // 10)
            self.actor(i).market.join_as_trainer(project)
        self.actor(AGGREGATOR).market.start_project(project, ETHER // 2)
        addresses = [str(dev_account(i).address) for i in indices]
        return SampleProject(project, addresses, addresses[-1], rounds)

    @staticmethod
    def default_votes(round_: int) -> dict[int, bool]:
        """Round 1: the last verifier dissents first and is outvoted; then the others agree.

        The dissenter, slashed below the minimum stake, cannot vote again until topped up.
        """
        if round_ == 1:
            return {VERIFIERS[-1]: False, **dict.fromkeys(VERIFIERS[:-1], True)}
        return dict.fromkeys(VERIFIERS[:-1], True)

    def play_round(self, sample: SampleProject, round_: int, votes: Votes | None = None,
                   no_show: Collection[str] = ()) -> str:
        """Commit, reveal, publish a real result, let the committee vote, close the round.

        Trainers in ``no_show`` do not commit: once commits are over their seats are
        released (each pays the no-show penalty) and the round goes on without them.
        Returns the round's outcome: finalized, disputed or refunded (tie / no quorum).
        """
        market = self.actor(OWNER).market
        playing = [(FIRST_TRAINER + k, a) for k, a in enumerate(sample.trainers)
                   if a not in no_show]
        cids: dict[str, str] = {}
        for i, address in playing:
            cid = self.store.put(f"update p{sample.project} r{round_} {address}".encode())
            salt = Web3.keccak(text=f"salt {sample.project} {round_} {i}")
            self.actor(i).market.commit_update(sample.project, round_, cid, salt)
            cids[address] = cid
        if no_show:
            self._travel(market.deadlines(sample.project, round_).commit)
            for address in no_show:
                market.release(sample.project, address)
        for i, address in playing:
            salt = Web3.keccak(text=f"salt {sample.project} {round_} {i}")
            self.actor(i).market.reveal(sample.project, round_, cids[address], salt)
        pool = self.actor(OWNER).market.round(sample.project, round_).trainer_pool_wei
        result = self._result(sample, round_, cids, pool)
        data = result.to_bytes()
        result_cid = self.store.put(data)
        aggregator = self.actor(AGGREGATOR).market
        aggregator.submit_result(sample.project, round_, RoundResult(
            model_cid=result.model_cid, result_cid=result_cid, result_hash=Web3.keccak(data),
            rewards_root=bytes.fromhex(result.rewards_root[2:]),
            total_rewarded_wei=result.total))
        votes = self.default_votes(round_) if votes is None else votes
        for i, agree in votes.items():
            verifier = self.actor(i).market
            if verifier.on_committee(sample.project, round_):
                verifier.attest(sample.project, round_, agree,
                                self.store.put(f"report {i} r{round_}".encode()))
        self._travel(aggregator.deadlines(sample.project, round_).verify)
        aggregator.advance(sample.project)  # settles the votes, whatever the verdict
        sample.result_cids[round_] = result_cid
        outcome = aggregator.round(sample.project, round_).status.name.lower()
        sample.outcomes[round_] = outcome
        if outcome != "finalized":
            return outcome
        for t in result.trainers:
            sample.rewards[(round_, t.address)] = t.reward
        # As the aggregator does: settle the rejected trainer's zero leaf, so the registry
        # records the rejection in its reputation.
        tree = reward_tree(sample.project, round_, payout_leaves(result.trainers))
        assert tree is not None
        if sample.rejected in cids:
            leaf = next(k for k, v in enumerate(tree.values) if v[2] == sample.rejected)
            self.actor(AGGREGATOR).rewards.claim(sample.project, round_, 0, tree.proof(leaf),
                                                 trainer=sample.rejected)
        return outcome

    def _result(self, sample: SampleProject, round_: int, cids: dict[str, str],
                pool: int) -> ResultJson:
        ordered = sorted(cids, key=str.lower)  # the trainers who revealed
        # Unequal, round-dependent contributions so the charts have something to show.
        weights = {a: (k + 1) * (round_ + k) for k, a in enumerate(sample.trainers)
                   if a != sample.rejected and a in cids}
        scale = sum(weights.values())
        paid = pool * 9 // 10
        entries: list[TrainerEntry] = []
        for address in ordered:
            accepted = address != sample.rejected
            contribution = weights.get(address, 0) * 1_000_000 // scale
            entries.append(TrainerEntry(
                address=address, update_cid=cids[address], samples=100 + 10 * len(entries),
                accepted=accepted, reason=None if accepted else "norm_outlier: 9.1x the median",
                robustness={"krum_score": float(len(entries) + 1), "norm": 1.5},
                contribution=contribution,
                reward=paid * weights[address] // scale if accepted else 0))
        tree = reward_tree(sample.project, round_, payout_leaves(entries))
        return ResultJson(
            metrics={"accuracy": round(0.6 + 0.15 * round_, 4),
                     "base_accuracy": round(0.45 + 0.15 * round_, 4)},
            project=sample.project, round=round_, rule="multi_krum", rule_params={"f": 1},
            scorer="cosine", scorer_params={}, seed=round_, base_model_cid="bafkreibase",
            model_cid=self.store.put(f"model p{sample.project} r{round_}".encode()), pool=pool,
            trainers=tuple(entries), rewards_root=tree.root_hex if tree else "0x" + "00" * 32)

    def finish(self, sample: SampleProject) -> None:
        """Close the project after its last round (escrow and bond credited back)."""
        self.actor(OWNER).market.finish(sample.project)

    def claim_all(self, sample: SampleProject, trainer_index: int = 0) -> str:
        """Trainer ``trainer_index`` claims every round it was paid in; returns its address."""
        address = sample.trainers[trainer_index]
        rewards = self.actor(FIRST_TRAINER + trainer_index).rewards
        for round_ in range(1, sample.rounds + 1):
            if sample.outcomes.get(round_) != "finalized":
                continue
            payouts = [(t, sample.rewards[(round_, t)])
                       for t in sorted(sample.trainers, key=str.lower)
                       if (round_, t) in sample.rewards
                       and (sample.rewards[(round_, t)] > 0 or t == sample.rejected)]
            tree = reward_tree(sample.project, round_, payouts)
            amount = sample.rewards.get((round_, address), 0)
            if tree is None or amount == 0:
                continue
            leaf = next(k for k, v in enumerate(tree.values) if v[2] == address)
            rewards.claim(sample.project, round_, amount, tree.proof(leaf))
        sample.claimed_by = address
        return address

    def play(self, trainers: int = 3, rounds: int = 2, finish: bool = True,
             claim: bool = True) -> SampleProject:
        """A whole project: post, every round, finish, and the first trainer's claims."""
        sample = self.post(trainers, rounds)
        for round_ in range(1, rounds + 1):
            if self.play_round(sample, round_) == "disputed":
                return sample  # the project was aborted: nothing to finish or claim
        if finish:
            self.finish(sample)
        if claim:
            self.claim_all(sample)
        return sample


def dump(sample: SampleProject) -> str:
    """The sample as JSON (for scripts)."""
    return json.dumps({"project": sample.project, "trainers": sample.trainers,
                       "rejected": sample.rejected, "rounds": sample.rounds,
                       "result_cids": sample.result_cids, "outcomes": sample.outcomes}, indent=1)
