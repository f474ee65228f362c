"""The trainer's round loop: wait, fetch, train, upload, commit, reveal — by itself.

``TrainerClient.run(project)`` plays every remaining round of a project it joined. Each step is
decided from chain state alone, so the loop can be stopped and restarted at any point: a round
already committed is not trained again, and a commitment made before a crash is revealed from
the salt kept on disk (:mod:`trainer.pending`). Reveals are only sent while the round is in its
reveal phase — a late reveal would be refused by the contract, so it is never attempted.

Private data never leaves this process: only the weight delta (safetensors) goes to storage, in
the form the project's spec declares (float32, int8 or top-k; a top-k trainer's residual stays
in its state directory, :mod:`trainer.residual`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eth_utils import keccak

from fedmarket.chain.error_messages import describe_revert
from fedmarket.chain.market import Market, MarketContracts
from fedmarket.chain.types import (
    Membership,
    ProjectInfo,
    RoundPhase,
    RoundStatus,
    SubmissionStatus,
)
from fedmarket.codec import UpdateHeader
from fedmarket.codec_stream import load_file, store_compressed, store_file
from fedmarket.data_fit import check_fits
from fedmarket.datasets import Dataset
from fedmarket.errors import ChainError, ContractRevert, FedmarketError, StorageError
from fedmarket.keeping_up import Stopwatch, cannot_keep_up, utc
from fedmarket.modelspec import ModelSpec
from fedmarket.protocol import (
    Backoff,
    FailureBudget,
    base_model_cid,
    keep_round_moving,
    load_spec,
    project_active,
)
from fedmarket.storage.base import ContentStore
from trainer.attacks.base import Attack, AttackContext
from trainer.local_training import LocalUpdate, ProgressCallback, train_local
from trainer.pending import PendingStore
from trainer.residual import load_feedback, residual_path, save_feedback

__all__ = ["TrainerClient", "RoundSubmission", "Reporter", "NotJoinedError", "round_seed"]


class NotJoinedError(FedmarketError):
    """The account is not a trainer of the project: it must `trainer join` first."""


class Reporter(Protocol):
    """What the client tells its user (the CLI shows it with rich; tests record it)."""

    def round_started(self, project: int, round_: int, samples: int) -> None:
        """Training for a round begins."""

    def progress(self) -> ProgressCallback | None:
        """A per-batch callback for the training progress bar, or None."""

    def submitted(self, submission: RoundSubmission) -> None:
        """A round's update was committed and revealed."""

    def note(self, message: str) -> None:
        """Anything else worth a line (waiting, resumed reveal, project finished)."""


@dataclass
class RoundSubmission:
    """One round's outcome for this trainer: what was trained, stored and sent."""

    project: int
    round: int
    cid: str = ""
    samples: int = 0
    loss: float | None = None
    commit_tx: str = ""
    reveal_tx: str = ""
    device: str = ""
    resumed: bool = False


class _SilentReporter:
    def round_started(self, project: int, round_: int, samples: int) -> None:
        return None

    def progress(self) -> ProgressCallback | None:
        return None

    def submitted(self, submission: RoundSubmission) -> None:
        return None

    def note(self, message: str) -> None:
        return None


def _last_round_closed(market: Market, info: ProjectInfo) -> bool:
    """True once the project's last round is closed: nothing is left for a trainer to do."""
    if info.current_round < info.params.rounds:
        return False
    return market.round(info.id, info.current_round).status in (
        RoundStatus.FINALIZED, RoundStatus.REFUNDED, RoundStatus.DISPUTED)


def round_seed(project: int, round_: int, trainer: str) -> int:
    """A training seed fixed by (project, round, trainer): reproducible, distinct per trainer."""
    digest = keccak(f"fedmarket-train:{project}:{round_}:{trainer.lower()}".encode())
    return int.from_bytes(digest[:4], "big")


@dataclass
class TrainerClient:
    """One trainer account with its private data, its store and its pending reveals."""

    contracts: MarketContracts
    store: ContentStore
    data: Dataset
    pending_dir: Path
    device: str | None = None
    reporter: Reporter = field(default_factory=_SilentReporter)
    # Simulation only: an adversary from trainer.attacks, never set by `trainer run` itself.
    attack: Attack | None = None
    attack_context: Callable[[int], AttackContext] | None = None
    _in_flight: dict[tuple[int, int], RoundSubmission] = field(default_factory=dict)
    # Why a round got no update from us (joined or started too late, reveal refused), by
    # round: a trainer that submitted nothing must say why instead of exiting quietly.
    missed: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """This trainer's account."""
        return self.contracts.market.contract.client.address

    def _check_joined(self, project: int) -> None:
        if self.contracts.market.membership(project) != Membership.TRAINER:
            raise NotJoinedError(f"{self.address} has not joined project {project} as a trainer: "
                                 f"run `fedmarket trainer join {project}` first")

    def step(self, project: int, spec: ModelSpec | None = None) -> RoundSubmission | bool:
        """Do what the current round needs from this trainer right now.

        Returns the submission when a reveal was mined (the round is done for us), True when
        something else was done (trained and committed, closed an expired round), else False.
        """
        market = self.contracts.market
        info = market.project(project)
        if not project_active(info) or info.current_round == 0:
            return False
        round_ = info.current_round
        round_info = market.round(project, round_)
        first, released = market.trainer_status(project)
        if released:
            raise NotJoinedError(f"{self.address}'s seat in project {project} was released: it "
                                 "did not commit in a round it was due in, and may not rejoin")
        if first > round_:  # joined during this round: the committing set was fixed at its start
            self._miss(project, round_, f"joined project {project} during round {round_}: "
                                        f"this trainer takes part from round {first}")
            return keep_round_moving(market, project, round_info, self.reporter.note) is not None
        status = market.submission(project, round_)
        if round_info.phase == RoundPhase.COMMIT and status == SubmissionStatus.NONE:
            spec = spec or load_spec(self.store, info.params.model_spec_cid)
            submission = self._train_and_commit(spec, project, round_, info)
            if submission is not None:
                self._in_flight[(project, round_)] = submission
            return True
        if round_info.phase == RoundPhase.REVEAL and status == SubmissionStatus.COMMITTED:
            submission = self._in_flight.pop((project, round_), None) or RoundSubmission(
                project, round_, resumed=True)
            if self._reveal(project, round_, submission):
                self.reporter.submitted(submission)
                return submission
            return True
        if status == SubmissionStatus.NONE and round_info.phase != RoundPhase.COMMIT:
            self._miss(project, round_, f"round {round_}'s commit window closed at "
                                        f"{utc(round_info.deadlines.commit)} before this "
                                        "trainer committed (it started or joined too late)")
        return keep_round_moving(market, project, round_info, self.reporter.note) is not None

    def _miss(self, project: int, round_: int, reason: str) -> None:
        if (project, round_) not in self.missed:
            self.missed[(project, round_)] = reason
            self.reporter.note(reason)

    def run(self, project: int, max_rounds: int | None = None, timeout: float = 3600.0
            ) -> list[RoundSubmission]:
        """Play rounds until the project ends (or ``max_rounds`` were revealed)."""
        market = self.contracts.market
        self._check_joined(project)
        spec = load_spec(self.store, market.project(project).params.model_spec_cid)
        check_fits(self.data, spec)  # before any round is due
        done: list[RoundSubmission] = []
        backoff = Backoff()
        deadline = time.monotonic() + timeout
        budget = FailureBudget()
        while max_rounds is None or len(done) < max_rounds:
            try:
                info = market.project(project)
                if not project_active(info):
                    self.reporter.note(f"project {project} is {info.status.name.lower()}")
                    break
                if _last_round_closed(market, info):
                    self.reporter.note(f"project {project}: its last round is closed")
                    break
                if (project, info.params.rounds) in self.missed:
                    break  # the last round passed us by: nothing is left to submit
                outcome = self.step(project, spec)
            except (ChainError, StorageError) as exc:
                budget.absorb(exc, self.reporter.note)
                backoff.sleep()
                continue
            budget.ok()
            if isinstance(outcome, RoundSubmission):
                done.append(outcome)
            if outcome:
                backoff.reset()
                continue
            if time.monotonic() > deadline:
                raise ChainError(f"trainer gave up on project {project} after {timeout:.0f} s")
            backoff.sleep()
        return done

    @property
    def _pending(self) -> PendingStore:
        return PendingStore(self.pending_dir)

    def _train_and_commit(self, spec: ModelSpec, project: int, round_: int,
                          info: ProjectInfo) -> RoundSubmission | None:
        """Train, store and commit one round's update.

        None (with the reason in ``missed``) when training outlasted the commit window: the
        commitment would be refused, so it is not sent.
        """
        watch = Stopwatch()
        pending = self._pending
        market = self.contracts.market
        model_cid = base_model_cid(market, project, round_)
        weights, _ = load_file(self.store, model_cid, "model", spec)  # streamed: one copy
        self.reporter.round_started(project, round_, len(self.data))
        context = self.attack_context(round_) if self.attack and self.attack_context else None
        update: LocalUpdate = train_local(
            spec, weights, self.data, device=self.device,
            seed=round_seed(project, round_, self.address), progress=self.reporter.progress(),
            attack=self.attack, context=context)
        cid = self._store_update(spec, project, round_, update)
        self.store.pin(cid)
        if self._commit_window_passed(project, round_, watch.seconds, info):
            return None
        record = pending.prepare(self.address, project, round_, cid)  # salt on disk first
        try:
            receipt = market.commit(project, round_, record.commitment)
        except ContractRevert:
            if self._commit_window_passed(project, round_, watch.seconds, info):
                return None  # the window closed while the transaction was on its way
            raise
        pending.mark_committed(record)
        return RoundSubmission(project, round_, cid=record.cid, samples=update.samples,
                               loss=update.mean_loss, commit_tx=receipt["transactionHash"].hex(),
                               device=update.device)

    def _store_update(self, spec: ModelSpec, project: int, round_: int,
                      update: LocalUpdate) -> str:
        """Store the update in the project's declared form; returns its CID.

        Compressed (int8 or top-k) when the spec says so; top-k adds the residual kept in the
        state directory and writes back what it left out (:mod:`trainer.residual`).
        """
        header = UpdateHeader(project, round_, self.address, update.samples, spec.hash(),
                              compression=spec.update_form)
        if spec.compression is None:
            return store_file(self.store, "update", update.delta, header, spec)
        path = residual_path(self.pending_dir, self.address, project)
        feedback = load_feedback(path, spec)
        parts = feedback.step(update.delta, spec.compression)
        cid = store_compressed(self.store, parts, header, spec)
        save_feedback(path, feedback, spec, round_)
        return cid

    def _commit_window_passed(self, project: int, round_: int, seconds: float,
                              info: ProjectInfo) -> bool:
        """Whether the round left its commit phase while we trained (said once if so)."""
        round_info = self.contracts.market.round(project, round_)
        if round_info.phase == RoundPhase.COMMIT:
            return False
        self._miss(project, round_, cannot_keep_up(
            f"round {round_}: training {len(self.data)} samples", seconds, "commit",
            info.params.commit_duration, round_info.deadlines.commit))
        return True

    def _reveal(self, project: int, round_: int, submission: RoundSubmission) -> bool:
        pending = self._pending
        record = pending.load(self.address, project, round_)
        if record is None:
            self._miss(project, round_, f"round {round_}: committed but no pending reveal on "
                                        f"disk in {self.pending_dir}; it cannot be revealed")
            return False
        try:
            receipt = self.contracts.market.reveal(project, round_, record.cid, record.salt)
        except ContractRevert as exc:
            self._miss(project, round_,
                       f"round {round_}: reveal refused: {describe_revert(exc)}")
            return False
        pending.done(record)
        submission.cid = record.cid
        submission.reveal_tx = receipt["transactionHash"].hex()
        if submission.resumed:
            self.reporter.note(f"round {round_}: revealed a commitment made before a restart")
        return True
