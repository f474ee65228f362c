"""A role whose work outlasts its phase window says so, with the numbers, and sends nothing.

The chain clock is moved past the window *while* the role works (from its own progress and
note callbacks), so each test is exact on any machine: no wall-clock budget is involved.
"""

from __future__ import annotations

from pathlib import Path

from fedmarket.chain.types import Attestation, RoundPhase, RoundStatus, SubmissionStatus
from tests.contracts.scenario import travel_past
from tests.e2e.market import build_market


class _Notes:
    """A reporter for any role: records notes, and runs ``on`` when a note contains ``when``."""

    def __init__(self, when: str, on: object) -> None:
        self.lines: list[str] = []
        self.when, self.on = when, on

    def note(self, message: str) -> None:
        self.lines.append(message)
        if self.when in message:
            self.on()  # type: ignore[operator]

    def published(self, published: object) -> None:
        return None

    def attested(self, attested: object) -> None:
        return None


def test_a_trainer_whose_training_outlasts_the_commit_window_says_so_and_commits_nothing(
        client_for, tmp_path: Path) -> None:
    market = build_market(client_for, tmp_path, trainers=5, rounds=1)
    slow = market.trainers[0]
    deadline = market.round_info().deadlines.commit

    class SlowDevice:
        def round_started(self, project: int, round_: int, samples: int) -> None:
            travel_past(market.w3, deadline)  # the window closes while this trainer trains

        def progress(self) -> None:
            return None

        def submitted(self, submission: object) -> None:
            return None

        def note(self, message: str) -> None:
            return None

    slow.reporter = SlowDevice()  # type: ignore[assignment]
    assert slow.step(market.project) is True

    assert market.owner.market.submission(market.project, 1, slow.address) == \
        SubmissionStatus.NONE
    reason = slow.missed[(market.project, 1)]
    assert "round 1: training" in reason and "the commit window (600 s) closed at" in reason
    assert "--commit-seconds" in reason


def test_an_aggregator_whose_computation_outlasts_the_result_window_says_so(
        client_for, tmp_path: Path) -> None:
    market = build_market(client_for, tmp_path, trainers=5, rounds=1)
    market.commit_and_reveal()
    deadline = market.round_info().deadlines.result
    notes = _Notes("computing the result", lambda: travel_past(market.w3, deadline))
    market.aggregator.reporter = notes  # type: ignore[assignment]

    assert market.aggregator.step(market.project) is True

    info = market.round_info()
    assert info.status == RoundStatus.OPEN and info.phase == RoundPhase.EXPIRED
    assert any("computing the result took" in line and "aggregate window (600 s)" in line
               and "--aggregate-seconds" in line for line in notes.lines), notes.lines


def test_a_verifier_whose_reexecution_outlasts_the_verify_window_says_so(
        client_for, tmp_path: Path) -> None:
    market = build_market(client_for, tmp_path, trainers=5, rounds=1)
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)
    verifier = market.verifiers[0]
    deadline = market.round_info().deadlines.verify
    notes = _Notes("re-executing", lambda: travel_past(market.w3, deadline))
    verifier.reporter = notes  # type: ignore[assignment]

    assert verifier.step(market.project) is True

    assert market.owner.market.attestation(market.project, 1, verifier.address) == \
        Attestation.NONE
    assert any("re-executing the result took" in line and "verify window (600 s)" in line
               for line in notes.lines), notes.lines
