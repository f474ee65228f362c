"""Readmit a rival group the owner's validation data shows to carry a class.

The ``trusted`` rule drops *rival groups* of FLAME's majority cluster
(:mod:`aggregator.rules.majority_cluster`): updates outside the majority that are denser among
themselves than the majority is. Colluding backdoor trainers look like that, but so can two
honest trainers whose data is skewed alike — in a non-IID split the only ones holding some
class. Dropping those costs the model that class (measured on digits, Dirichlet 0.5: 25 points
of test accuracy in one run).

What tells them apart without the trigger is what the group adds to each class of the
validation set: per-class validation accuracy of the model with and without the group. Measured
(10 parties, seeds 0-4, rounds 1-3, rivals at 0.8 of the majority's formation distance): honest
rival groups raised some class by 67-83 points, colluding backdoor groups in IID splits by at
most 6 (their clean data is redundant; one validation sample of a class is about 3 points). A
group is readmitted when it raises some class by at least :data:`CLASS_GAIN`. The limit is
stated plainly: backdoor trainers who also hold a class nobody else has (non-IID) raise it too
and are readmitted — a backdoor is then kept rather than a class lost, since nothing measurable
on clean validation data separates "the only carrier of class c" from "the only carrier of class
c, plus a trigger" (measured 23-61 points for such groups).

Deterministic from the rule's weights, scales and rivals and the validation set; each member's
``rival_class_gain`` (its group's largest per-class gain) and every trainer's ``readmit_gain``
(the bar) are recorded, both on the payout proof's fixed-point grid
(:func:`fedmarket.zk.payout.quantize_cosine`), so the readmission is the circuit's comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from aggregator.rules import RuleResult
from aggregator.rules.fltrust import weighted_scaled_mean
from fedmarket.zk.payout import quantize_cosine

__all__ = ["CLASS_GAIN", "readmit_class_carriers"]

# Largest per-class validation-accuracy gain (fraction) from which a rival group is readmitted:
# about 5 of the ~36 validation samples a class has on digits; measured honest carriers >= 0.67,
# redundant backdoor groups <= 0.06.
CLASS_GAIN = 0.15


def readmit_class_carriers(result: RuleResult, updates: torch.Tensor,
                           class_accuracies: Callable[[torch.Tensor], list[float]],
                           gain: float = CLASS_GAIN) -> RuleResult:
    """``result`` with every rival group that raises some class by ``>= gain`` readmitted.

    Each group is judged alone against the aggregate without any rival (``result.aggregate``);
    ``class_accuracies(delta)`` is the per-class validation accuracy of the model plus ``delta``.
    """
    if not result.rivals or result.weights is None or result.scales is None:
        return result
    bar = quantize_cosine(gain)
    before = result.scores["weight_before_rivals"]
    without = class_accuracies(result.aggregate)
    n = len(result.weights)
    gains = [0.0] * n
    weights = list(result.weights)
    for group in result.rivals:
        trial = list(result.weights)
        for i in group:
            trial[i] = before[i]
        rows = [i for i in range(n) if trial[i] > 0.0]
        with_group = class_accuracies(weighted_scaled_mean(updates, trial, result.scales, rows))
        # On the payout proof's grid, as the bar: the comparison is the circuit's.
        best = quantize_cosine(max(a - b for a, b in zip(with_group, without, strict=True)))
        for i in group:
            gains[i] = best
            if best >= bar:
                weights[i] = before[i]
    scores = dict(result.scores)
    scores["rival_class_gain"] = gains
    scores["readmit_gain"] = [bar] * n
    if weights == list(result.weights):
        return replace(result, scores=scores)
    accepted = [i for i in range(n) if weights[i] > 0.0]
    aggregate = weighted_scaled_mean(updates, weights, result.scales, accepted)
    return replace(result, aggregate=aggregate, accepted=accepted, scores=scores, weights=weights)
