"""``fedmarket aggregator run``: play the aggregator's part in every round of a project.

The loop decides each step from chain state, so it is restartable at any point and never
publishes a round twice: a round whose status is already ``Posted`` is skipped, and everything
it stores is content-addressed, so recomputing after a crash stores the same bytes under the
same CIDs before the one on-chain submission. It also keeps the project moving (``advance`` /
``finalize`` once deadlines pass) and ``finish``es it after the last round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch

from aggregator.inputs import gather_round, load_validation
from aggregator.round import RoundOutcome, RoundSpec, compute_round_or_reject_all
from aggregator.utility import ValidationUtility, model_accuracy
from fedmarket.chain.error_messages import describe_revert
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import (
    NO_PROOF_CLAIM,
    ProjectStatus,
    RoundPhase,
    RoundResult,
    RoundStatus,
)
from fedmarket.codec import ModelHeader, flatten, unflatten
from fedmarket.codec_stream import store_file
from fedmarket.data_fit import check_fits
from fedmarket.datasets import Dataset
from fedmarket.errors import (
    AggregationError,
    ChainError,
    ConfigError,
    ContractRevert,
    DataError,
    FedmarketError,
    StorageError,
)
from fedmarket.keeping_up import Stopwatch, cannot_keep_up
from fedmarket.merkle import reward_tree
from fedmarket.modelspec import ModelSpec
from fedmarket.owner import check_rule_params
from fedmarket.protocol import Backoff, FailureBudget, keep_round_moving, load_spec, project_active
from fedmarket.rewards_query import round_result_of
from fedmarket.round_result import payout_leaves
from fedmarket.storage.base import ContentStore
from fedmarket.zk.publish import ProofPlan, plan_proof, prove_published_round

__all__ = ["AggregatorService", "AggregatorTooSlow", "PublishedRound", "round_spec_of",
           "compute_outcome"]


class AggregatorTooSlow(FedmarketError):
    """The round's result window closed while the aggregator computed it."""


class AggregatorReporter(Protocol):
    """Where the service reports what it did (CLI: rich lines; tests: a list)."""

    def published(self, published: PublishedRound) -> None:
        """A round result was posted on chain."""

    def note(self, message: str) -> None:
        """Anything else worth a line."""


class _Silent:
    def published(self, published: PublishedRound) -> None:
        return None

    def note(self, message: str) -> None:
        return None


@dataclass(frozen=True)
class PublishedRound:
    """What the aggregator posted for one round."""

    project: int
    round: int
    model_cid: str
    result_cid: str
    result_hash: str
    accepted: int
    rejected: int
    total_wei: int
    accuracy: float | None
    tx: str


def round_spec_of(spec: ModelSpec) -> RoundSpec:
    """The aggregation part of a project's model spec (validation CID is not a scorer param)."""
    scorer_params = {k: v for k, v in spec.scoring.params.items() if k != "validation_cid"}
    return RoundSpec(rule=spec.aggregation.rule, rule_params=dict(spec.aggregation.params),
                     scorer=spec.scoring.method, scorer_params=scorer_params)


def compute_outcome(contracts: MarketContracts, store: ContentStore, spec: ModelSpec,
                    project: int, round_: int, validation: Dataset | None,
                    from_block: int = 0) -> RoundOutcome:
    """Gather the round's updates and compute its outcome, storing the new global model.

    The verifier calls this very function to re-execute a round (with its own store), so the
    aggregator's and the verifiers' results can only differ if their inputs do.
    """
    gathered = gather_round(contracts.market, store, spec, project, round_, from_block)
    inputs = gathered.inputs
    base_flat = flatten(gathered.base_weights).to(torch.float64)

    def store_model(aggregate: torch.Tensor) -> str:
        weights = unflatten((base_flat + aggregate.to(torch.float64)).to(torch.float32), spec)
        cid = store_file(store, "model", weights, ModelHeader(project, round_, spec.hash()), spec)
        store.pin(cid)
        return cid

    utility = None
    if validation is not None:
        utility = ValidationUtility(spec, gathered.base_weights, inputs.updates, inputs.samples,
                                    validation)
    outcome = compute_round_or_reject_all(inputs, round_spec_of(spec), model_cid=store_model,
                                          utility=utility)
    if validation is None or utility is None:
        return outcome
    metrics = {
        # v(empty coalition) is the base model's accuracy, already cached by scoring.
        "base_accuracy": round(utility(()), 6),
        "accuracy": round(model_accuracy(
            spec, base_flat + outcome.aggregate.to(torch.float64), validation), 6),
    }
    return replace(outcome, result=replace(outcome.result, metrics=metrics))


@dataclass
class AggregatorService:
    """The project's aggregator account, its store and (optionally) the validation data."""

    contracts: MarketContracts
    store: ContentStore
    from_block: int = 0
    reporter: AggregatorReporter = field(default_factory=_Silent)
    # Claim and prove each published round with Groth16 (aggregator/proving.py); off in tests
    # that do not need it, since proving takes seconds. Proving never blocks publishing.
    prove: bool = True
    _settled: dict[int, set[int]] = field(default_factory=dict)
    _proof_tried: set[tuple[int, int]] = field(default_factory=set)
    # Rounds whose result could not be computed, with why (said once, reported by the CLI).
    uncomputable: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """The aggregator's account."""
        return self.contracts.market.contract.client.address

    def start(self, project: int) -> bool:
        """Bond and start the project if it waits for us; True if it was started now."""
        market = self.contracts.market
        info = market.project(project)
        if info.params.aggregator.lower() != self.address.lower():
            raise FedmarketError(f"{self.address} is not the aggregator of project {project} "
                                 f"(that is {info.params.aggregator})")
        if info.status != ProjectStatus.CREATED:
            return False
        spec = load_spec(self.store, info.params.model_spec_cid)
        try:  # refuse the bond for a project whose rounds could never be computed
            validation = load_validation(self.store, spec)
            if validation is not None:
                check_fits(validation, spec)
            check_rule_params(spec.aggregation.rule, dict(spec.aggregation.params))
        except (DataError, ConfigError) as exc:
            raise AggregationError(
                f"project {project} cannot be aggregated, so no bond was posted: {exc}; its "
                f"owner can cancel it with `fedmarket project cancel {project}`") from None
        market.start_project(project, info.params.aggregator_bond_wei)
        self.reporter.note(f"project {project}: bonded {info.params.aggregator_bond_wei} wei, "
                           "round 1 is open")
        return True

    def publish(self, project: int, round_: int, spec: ModelSpec,
                validation: Dataset | None) -> PublishedRound:
        """Compute, store and post one round's result.

        Raises :class:`AggregatorTooSlow` when the computation outlasted the result window: the
        submission would be refused, so it is not sent.
        """
        watch = Stopwatch()
        self.reporter.note(f"round {round_}: computing the result ({spec.aggregation.rule}, "
                           f"{spec.scoring.method} scoring)")
        outcome = compute_outcome(self.contracts, self.store, spec, project, round_, validation,
                                  self.from_block)
        self._check_in_time(project, round_, watch.seconds)
        result_bytes = outcome.result_bytes
        result_cid = self.store.put(result_bytes)
        self.store.pin(result_cid)
        plan: ProofPlan | None = None
        if self.prove:
            try:
                plan = plan_proof(outcome.result)
            except Exception as exc:  # a proof is optional; the result is not
                self.reporter.note(f"round {round_}: no proof: {exc}")
        receipt = self.contracts.market.submit_result(project, round_, RoundResult(
            model_cid=outcome.result.model_cid, result_cid=result_cid,
            result_hash=outcome.result_hash, rewards_root=bytes.fromhex(outcome.rewards_root[2:]),
            total_rewarded_wei=outcome.total,
            proof_claim=plan.claim.claim if plan is not None else NO_PROOF_CLAIM))
        if plan is not None:
            try:
                proven = prove_published_round(self.contracts, self.store, project, round_,
                                               plan=plan, note=self.reporter.note)
                self._proof_tried.add((project, round_))
                if proven is not None:
                    self.reporter.note(f"round {round_}: proof verified on chain "
                                       f"({proven.gas_used} gas, proved in "
                                       f"{proven.prove_seconds:.1f} s)")
            except Exception as exc:  # anyone may still prove the claim later
                self.reporter.note(f"round {round_}: proving failed: {exc}")
        accepted = sum(1 for v in outcome.verdicts if v.accepted)
        return PublishedRound(
            project, round_, outcome.result.model_cid, result_cid,
            "0x" + outcome.result_hash.hex(), accepted, len(outcome.verdicts) - accepted,
            outcome.total, outcome.result.metrics.get("accuracy"),
            receipt["transactionHash"].hex())

    def _check_in_time(self, project: int, round_: int, seconds: float) -> None:
        market = self.contracts.market
        round_info = market.round(project, round_)
        if round_info.phase == RoundPhase.AGGREGATE:
            return
        window = market.project(project).params.aggregate_duration
        raise AggregatorTooSlow(cannot_keep_up(
            f"round {round_}: computing the result", seconds, "aggregate", window,
            round_info.deadlines.result))

    def step(self, project: int, spec: ModelSpec | None = None,
             validation: Dataset | None = None) -> PublishedRound | bool:
        """Do what the project needs from the aggregator now.

        Returns the published round when a result was posted, True when something else was
        done (closed an expired round, finished the project), else False.
        """
        market = self.contracts.market
        info = market.project(project)
        if not project_active(info) or info.current_round == 0:
            return False
        round_info = market.round(project, info.current_round)
        if round_info.phase == RoundPhase.AGGREGATE and round_info.status == RoundStatus.OPEN:
            if spec is None:
                spec = load_spec(self.store, info.params.model_spec_cid)
                validation = load_validation(self.store, spec)
            if (project, info.current_round) in self.uncomputable:
                return False  # said why once; retrying the same inputs fails the same way
            try:
                done = self.publish(project, info.current_round, spec, validation)
            except AggregatorTooSlow as exc:
                self.reporter.note(str(exc))
                return True
            except ContractRevert as exc:  # e.g. the deadline passed while sending
                self.reporter.note(f"round {info.current_round}: submission refused: "
                                   f"{describe_revert(exc)}")
                return True
            except (ChainError, StorageError):
                raise  # transient (node, store): the run loop retries within its budget
            except (FedmarketError, RuntimeError, ValueError, TypeError) as exc:
                # Deterministic on these inputs: say why instead of crashing on every retry.
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.uncomputable[(project, info.current_round)] = reason
                self.reporter.note(
                    f"round {info.current_round}: cannot compute a result ({reason}); nothing "
                    "is posted, so the round will be refunded as aggregator_silent when its "
                    "result deadline passes")
                return True
            self.reporter.published(done)
            return done
        if self._prove_pending(project, info.current_round, round_info):
            return True
        if keep_round_moving(market, project, round_info, self.reporter.note):
            return True
        if self.settle_rejections(project, info.current_round):
            return True
        return self._finish_if_done(project, info.current_round, info.params.rounds,
                                    round_info.status)

    def _prove_pending(self, project: int, round_: int, round_info: Any) -> bool:
        """Prove a posted, claimed round that has no proof yet (after a restart, say).

        A claimed round cannot finalize without its proof; tried once per round and process
        (proving the same result fails the same way), True when a proof was verified.
        """
        if (not self.prove or round_info.status != RoundStatus.POSTED
                or round_info.proof_verified or (project, round_) in self._proof_tried):
            return False
        self._proof_tried.add((project, round_))
        try:
            proven = prove_published_round(self.contracts, self.store, project, round_,
                                           note=self.reporter.note)
        except (ChainError, StorageError):
            self._proof_tried.discard((project, round_))
            raise
        except Exception as exc:  # anyone may still prove the claim
            self.reporter.note(f"round {round_}: proving failed: {exc}")
            return False
        if proven is None:
            return False
        self.reporter.note(f"round {round_}: proof verified on chain ({proven.gas_used} gas, "
                           f"proved in {proven.prove_seconds:.1f} s)")
        return True

    def settle_rejections(self, project: int, up_to_round: int) -> bool:
        """Settle the zero leaves of rejected trainers in finalized rounds, one per call.

        A rejected trainer has no reason to claim its zero leaf, but settling it is what
        records the rejection in the trainer's on-chain reputation — so the aggregator does it.
        """
        market, rewards = self.contracts.market, self.contracts.rewards
        for round_ in range(1, up_to_round + 1):
            if round_ in self._settled.get(project, set()):
                continue
            info = market.round(project, round_)
            if info.status != RoundStatus.FINALIZED:
                if info.status in (RoundStatus.REFUNDED, RoundStatus.DISPUTED):
                    self._settled.setdefault(project, set()).add(round_)
                continue
            result = round_result_of(self.store, info.result_cid, info.result_hash)
            tree = reward_tree(project, round_, payout_leaves(result.trainers))
            for index, value in enumerate(tree.values if tree is not None else []):
                if value[3] == 0 and not rewards.is_claimed(project, round_, value[2]):
                    assert tree is not None
                    rewards.claim(project, round_, 0, tree.proof(index), trainer=value[2])
                    return True
            self._settled.setdefault(project, set()).add(round_)
        return False

    def run(self, project: int, timeout: float = 3600.0) -> list[PublishedRound]:
        """Start the project if needed, then publish every round until the project ends."""
        market = self.contracts.market
        self.start(project)
        spec = load_spec(self.store, market.project(project).params.model_spec_cid)
        validation = load_validation(self.store, spec)
        published: list[PublishedRound] = []
        backoff = Backoff()
        deadline = time.monotonic() + timeout
        budget = FailureBudget()
        while True:
            try:
                info = market.project(project)
                if not project_active(info):
                    self.reporter.note(f"project {project} is {info.status.name.lower()}")
                    return published
                outcome = self.step(project, spec, validation)
            except (ChainError, StorageError) as exc:
                budget.absorb(exc, self.reporter.note)
                backoff.sleep()
                continue
            budget.ok()
            if isinstance(outcome, PublishedRound):
                published.append(outcome)
            if outcome:
                backoff.reset()
                continue
            if time.monotonic() > deadline:
                raise ChainError(f"aggregator gave up on project {project} after {timeout:.0f} s")
            backoff.sleep()

    def _finish_if_done(self, project: int, round_: int, rounds: int,
                        status: RoundStatus) -> bool:
        closed = status in (RoundStatus.FINALIZED, RoundStatus.REFUNDED, RoundStatus.DISPUTED)
        if round_ < rounds or not closed:
            return False
        try:
            self.contracts.market.finish(project)
        except ContractRevert:
            return False
        self.reporter.note(f"project {project}: finished, unspent escrow returned to the owner")
        return True
