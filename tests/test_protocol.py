import pytest

from fedmarket.errors import ChainError
from fedmarket.protocol import Backoff, FailureBudget


def test_failure_budget_reports_each_failure_and_gives_up_at_the_limit() -> None:
    notes: list[str] = []
    budget = FailureBudget(limit=3)

    budget.absorb(ChainError("node went away"), notes.append)
    budget.absorb(ChainError("node went away"), notes.append)
    with pytest.raises(ChainError, match="node went away"):
        budget.absorb(ChainError("node went away"), notes.append)

    assert notes == ["node went away (failure 1/3; retrying)",
                     "node went away (failure 2/3; retrying)"]


def test_a_successful_step_resets_the_failure_count() -> None:
    budget = FailureBudget(limit=2)

    budget.absorb(ChainError("once"), lambda _: None)
    budget.ok()
    budget.absorb(ChainError("again"), lambda _: None)

    assert budget.failures == 1


def test_backoff_grows_to_its_maximum_and_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("fedmarket.protocol.time.sleep", slept.append)
    backoff = Backoff(initial=0.2, maximum=0.5, factor=2.0)

    for _ in range(4):
        backoff.sleep()
    backoff.reset()
    backoff.sleep()

    assert slept == [0.2, 0.4, 0.5, 0.5, 0.2]
