"""Multi-Krum: the mean of the ``m`` updates with the lowest Krum scores.

Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with Adversaries: Byzantine Tolerant
Gradient Descent", NeurIPS 2017 (Section 5, "Multi-Krum"). Scores are computed once on all
``n`` updates, as in the paper; ``m`` defaults to ``n - f``. The selected updates are averaged
with their sample weights (uniform weights give the paper's plain mean). Needs ``n >= 2f + 3``.
"""

from __future__ import annotations

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, int_param, register
from .distances import pairwise_sq_distances, weighted_mean
from .krum import check_krum_precondition, krum_scores, lowest

__all__ = ["MultiKrum"]


@register("multi_krum")
class MultiKrum(Rule):
    """Multi-Krum with ``f`` assumed Byzantine trainers, keeping ``m`` (default ``n - f``)."""

    def __init__(self, f: int = 0, m: int | None = None):
        self.f = int_param("multi_krum", "f", f)
        self.m = None if m is None else int_param("multi_krum", "m", m, minimum=1)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        n = updates.shape[0]
        check_krum_precondition("multi_krum", n, self.f)
        m = n - self.f if self.m is None else self.m
        if m > n:
            raise AggregationError(f"multi_krum requires m <= n, got m={m}, n={n}")
        scores = krum_scores(pairwise_sq_distances(updates), n - self.f - 2)
        selected = lowest(scores, m)
        aggregate = weighted_mean(updates, weights, selected)
        return RuleResult(aggregate, selected, {"krum_score": scores.tolist()})
