"""The trainer's round loop on the real chain: restarts, lateness, membership."""

from dataclasses import replace
from pathlib import Path

import pytest

from fedmarket.chain.types import RoundPhase, SubmissionStatus
from tests.contracts.scenario import travel_past
from tests.e2e.market import Market, build_market
from trainer.client import NotJoinedError, RoundSubmission, TrainerClient
from trainer.pending import PendingStore


@pytest.fixture
def market(client_for, tmp_path: Path) -> Market:
    return build_market(client_for, tmp_path, trainers=5, rounds=1, rule_params={"f": 1})


def test_a_restart_between_commit_and_reveal_still_reveals(market: Market) -> None:
    first = market.trainers[0]
    assert first.step(market.project) is True  # trained, salt on disk, committed
    for other in market.trainers[1:]:
        other.step(market.project)
    travel_past(market.w3, market.round_info().deadlines.commit)

    restarted = replace(first, _in_flight={})  # a new process: nothing in memory
    outcome = restarted.step(market.project)

    assert isinstance(outcome, RoundSubmission) and outcome.resumed
    assert market.owner.market.submission(market.project, 1, first.address) == \
        SubmissionStatus.REVEALED
    assert PendingStore(first.pending_dir).all() == []  # forgotten once mined


def test_a_commitment_is_never_revealed_after_the_deadline(market: Market) -> None:
    for trainer in market.trainers:
        trainer.step(market.project)
    info = market.round_info()
    travel_past(market.w3, info.deadlines.reveal)
    late = market.trainers[0]

    assert market.round_info().phase in (RoundPhase.AGGREGATE, RoundPhase.EXPIRED)
    late.step(market.project)

    assert market.owner.market.submission(market.project, 1, late.address) == \
        SubmissionStatus.COMMITTED
    assert len(PendingStore(late.pending_dir).all()) == 1  # salt kept, nothing sent


def test_a_trainer_that_did_not_join_is_refused_before_training(market: Market, client_for,
                                                                tmp_path: Path) -> None:
    from fedmarket.chain.market import MarketContracts
    from tests.e2e.market import FIRST_TRAINER

    outsider = TrainerClient(MarketContracts.at(client_for(FIRST_TRAINER + 20),
                                                market.deployment),
                             market.store, market.trainers[0].data, tmp_path / "outsider")

    with pytest.raises(NotJoinedError, match="trainer join"):
        outsider.run(market.project, timeout=5)
