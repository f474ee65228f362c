"""``fedmarket verifier run``: attest every posted round whose committee drew this verifier.

A verifier joins no project: each round's committee is drawn on chain from every verifier
registered when the round started (``FedMarket.isOnCommittee``). For each round in the
``Posted`` state whose committee holds this account and that it has not attested yet, re-execute it
(:mod:`verifier.reexecution`), store the report, and attest agree/disagree with the report's
CID. Like the other roles it keeps rounds moving once their deadlines pass. Restartable: the
chain records whether this verifier already attested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from aggregator.inputs import load_validation
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import Attestation, RoundPhase, RoundStatus
from fedmarket.datasets import Dataset
from fedmarket.errors import ChainError, ContractRevert, FedmarketError, StorageError
from fedmarket.keeping_up import Stopwatch, cannot_keep_up, chain_time
from fedmarket.modelspec import ModelSpec
from fedmarket.protocol import Backoff, FailureBudget, keep_round_moving, load_spec, project_active
from fedmarket.storage.base import ContentStore
from fedmarket.zk.publish import prove_published_round
from verifier.reexecution import ReexecutionReport, reexecute_round

__all__ = ["VerifierService", "Attested"]


@dataclass(frozen=True)
class Attested:
    """One attestation this verifier sent."""

    project: int
    round: int
    agree: bool
    report_cid: str
    differences: tuple[str, ...]
    tx: str


class VerifierReporter(Protocol):
    """Where the service reports what it did."""

    def attested(self, attested: Attested) -> None:
        """An attestation was mined."""

    def note(self, message: str) -> None:
        """Anything else worth a line."""


class _Silent:
    def attested(self, attested: Attested) -> None:
        return None

    def note(self, message: str) -> None:
        return None


@dataclass
class VerifierService:
    """One verifier account, its store, and the projects it watches."""

    contracts: MarketContracts
    store: ContentStore
    from_block: int = 0
    reporter: VerifierReporter = field(default_factory=_Silent)
    _specs: dict[int, tuple[ModelSpec, Dataset | None]] = field(default_factory=dict)
    _not_drawn: set[tuple[int, int]] = field(default_factory=set)

    @property
    def address(self) -> str:
        """The verifier's account."""
        return self.contracts.market.contract.client.address

    def _spec(self, project: int) -> tuple[ModelSpec, Dataset | None]:
        if project not in self._specs:
            spec = load_spec(self.store,
                             self.contracts.market.project(project).params.model_spec_cid)
            self._specs[project] = (spec, load_validation(self.store, spec))
        return self._specs[project]

    def step(self, project: int) -> bool:
        """Do whatever the project's current round needs from us; True if we acted."""
        market = self.contracts.market
        info = market.project(project)
        if not project_active(info) or info.current_round == 0:
            return False
        round_info = market.round(project, info.current_round)
        if (round_info.status == RoundStatus.POSTED and round_info.phase == RoundPhase.VERIFY
                and market.attestation(project, round_info.round) == Attestation.NONE
                and self._drawn(project, round_info.round)):
            spec, validation = self._spec(project)
            watch = Stopwatch()
            self.reporter.note(f"project {project} round {round_info.round}: re-executing the "
                               "aggregator's result")
            try:
                report = reexecute_round(self.contracts, self.store, spec, round_info,
                                         validation, self.address, self.from_block)
            except FedmarketError as exc:  # cannot re-execute: that is a disagreement
                report = ReexecutionReport(project, round_info.round, self.address,
                                           "0x" + round_info.result_hash.hex())
                report.differ(f"re-execution failed: {exc}")
            agree = report.agree
            if self._verify_window_passed(project, round_info.round, watch.seconds):
                return True
            report_cid = self.store.put(report.to_bytes())
            try:
                receipt = market.attest(project, round_info.round, agree, report_cid)
            except ContractRevert as exc:
                if not self._verify_window_passed(project, round_info.round, watch.seconds):
                    self.reporter.note(f"project {project} round {round_info.round}: "
                                       f"attestation refused: {exc}")
                return True
            self.reporter.attested(Attested(project, round_info.round, agree, report_cid,
                                            tuple(report.differences),
                                            receipt["transactionHash"].hex()))
            if agree:
                self._prove_if_left_unproven(project, round_info.round)
            return True
        return keep_round_moving(market, project, round_info, self.reporter.note) is not None

    def _prove_if_left_unproven(self, project: int, round_: int) -> None:
        """Prove a result we agreed with whose claimed proof is still missing.

        The aggregator proves right after posting; if it died in between, the claimed round
        could not finalize and would be disputed at the deadline, its trainers getting the
        bond instead of their rewards. Every input is in the result, so we prove it. A proof
        that lands first (the aggregator's, or another verifier's) just makes ours refused.
        """
        market = self.contracts.market
        if market.round(project, round_).proof_verified:
            return
        if not market.round_proof(project, round_).claimed:
            return
        try:
            proven = prove_published_round(self.contracts, self.store, project, round_,
                                           note=self.reporter.note)
        except (FedmarketError, OSError) as exc:  # a revert (someone was first) included
            self.reporter.note(f"project {project} round {round_}: not proven by us: {exc}")
            return
        if proven is not None:
            self.reporter.note(f"project {project} round {round_}: the aggregator left its "
                               f"claimed proof unproven; proved it ({proven.gas_used} gas)")

    def _verify_window_passed(self, project: int, round_: int, seconds: float) -> bool:
        """Whether the verify window closed during re-execution (then said, with the times)."""
        market = self.contracts.market
        round_info = market.round(project, round_)
        if round_info.phase == RoundPhase.VERIFY:
            return False
        if chain_time(market) <= round_info.deadlines.verify:  # a majority settled it first
            self.reporter.note(f"project {project} round {round_}: settled by the committee's "
                               "majority before this verifier's vote")
            return True
        window = market.project(project).params.verify_duration
        self.reporter.note(cannot_keep_up(
            f"project {project} round {round_}: re-executing the result", seconds, "verify",
            window, round_info.deadlines.verify))
        return True

    def _drawn(self, project: int, round_: int) -> bool:
        """Whether this account sits on the round's committee (said once when it does not)."""
        if self.contracts.market.on_committee(project, round_):
            return True
        if (project, round_) not in self._not_drawn:
            self._not_drawn.add((project, round_))
            self.reporter.note(f"project {project} round {round_}: not drawn for the committee")
        return False

    def run(self, projects: list[int] | None = None, timeout: float = 3600.0,
            until_done: bool = True) -> None:
        """Watch ``projects`` (default: every project posted so far).

        This account may be drawn for any of their rounds; with ``until_done`` the service
        stops once all of them ended.
        """
        market = self.contracts.market
        backoff = Backoff()
        deadline = time.monotonic() + timeout
        budget = FailureBudget()
        while True:
            try:
                watched = (projects if projects is not None
                           else list(range(1, market.project_count() + 1)))
                active = [p for p in watched if project_active(market.project(p))]
                if until_done and watched and not active:
                    self.reporter.note("every watched project has ended")
                    return
                acted = any([self.step(p) for p in active])
            except (ChainError, StorageError) as exc:
                budget.absorb(exc, self.reporter.note)
                backoff.sleep()
                continue
            budget.ok()
            if acted:
                backoff.reset()
                continue
            if time.monotonic() > deadline:
                raise ChainError(f"verifier stopped after {timeout:.0f} s")
            backoff.sleep()
