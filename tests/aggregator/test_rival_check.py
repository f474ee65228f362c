"""Rival groups that carry a class on the validation data are readmitted (rival_check)."""

from __future__ import annotations

import torch

from aggregator.rival_check import CLASS_GAIN, readmit_class_carriers
from aggregator.rules import RuleResult
from aggregator.rules.fltrust import weighted_scaled_mean


def class_accuracies(delta: torch.Tensor) -> list[float]:
    """A stand-in validation set: class c is right in proportion to coordinate c (clamped)."""
    return [float(v) for v in delta[:3].double().clamp(0.0, 1.0)]


def _result(updates: torch.Tensor, rivals: list[list[int]]) -> RuleResult:
    n = updates.shape[0]
    before = [1.0] * n
    dropped = {i for g in rivals for i in g}
    weights = [0.0 if i in dropped else 1.0 for i in range(n)]
    accepted = [i for i in range(n) if weights[i] > 0]
    aggregate = weighted_scaled_mean(updates, weights, [1.0] * n, accepted)
    return RuleResult(aggregate, accepted, {"weight_before_rivals": before}, weights=weights,
                      scales=[1.0] * n, groups=[[i] for i in range(n)], rivals=rivals)


def test_a_group_holding_a_class_nobody_else_has_is_readmitted():
    # Rows 0-3 teach classes 0 and 1; rows 4-5 alone teach class 2 (non-IID carriers).
    updates = torch.tensor([[1.0, 1.0, 0.0]] * 4 + [[0.0, 0.0, 3.0]] * 2)

    result = readmit_class_carriers(_result(updates, [[4, 5]]), updates, class_accuracies)

    assert result.accepted == [0, 1, 2, 3, 4, 5]
    assert result.scores["rival_class_gain"][4] == 1.0  # class 2: 0 -> 1 (mean 6/6 clamped)
    assert torch.allclose(result.aggregate, updates.mean(dim=0))


def test_a_redundant_group_stays_out():
    # Rows 4-5 only repeat classes 0 and 1 (the majority already has them right): gain 0.
    updates = torch.tensor([[1.0, 1.0, 0.0]] * 6)
    updates[4:, 2] = CLASS_GAIN  # a little of class 2: mean 2 * 0.15 / 6 = 0.05, below 0.15

    result = readmit_class_carriers(_result(updates, [[4, 5]]), updates, class_accuracies)

    assert result.accepted == [0, 1, 2, 3]
    assert 0.0 < result.scores["rival_class_gain"][4] < CLASS_GAIN
    assert result.weights == [1.0] * 4 + [0.0] * 2


def test_no_rivals_leaves_the_result_alone():
    updates = torch.ones(4, 3)
    result = _result(updates, [])

    assert readmit_class_carriers(result, updates, class_accuracies) is result
