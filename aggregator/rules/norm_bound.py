"""Norm bounding: clip every update to a maximum L2 norm, then take the weighted mean.

Sun, Kairouz, Suresh, McMahan, "Can You Really Backdoor Federated Learning?", 2019
(arXiv:1911.07963). Each update ``x_i`` is scaled by ``min(1, M / ||x_i||)`` and the clipped
updates are averaged with their sample weights. The paper fixes ``M``; without one we
use the median update norm of the round, a scale-free default. The paper's optional Gaussian
noise ("weak DP") is left out to keep the round reproducible. Every update is accepted.
"""

from __future__ import annotations

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, float_param, register
from .distances import row_sq_norms, weighted_sum

__all__ = ["NormBound"]


@register("norm_bound")
class NormBound(Rule):
    """Clip to norm ``max_norm`` (default: the median norm), then FedAvg."""

    def __init__(self, max_norm: float | None = None):
        self.max_norm = None if max_norm is None else float_param(
            "norm_bound", "max_norm", max_norm, 0.0, float("inf"), inclusive_low=False
        )

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        n = updates.shape[0]
        norms = row_sq_norms(updates).sqrt()
        if not bool(torch.isfinite(norms).all()):
            raise AggregationError("updates must be finite (non-finite values found)")
        bound = self.max_norm
        if bound is None:
            bound = float(torch.quantile(norms, 0.5, interpolation="midpoint"))
        factors = torch.where(norms > bound, bound / norms.clamp(min=1e-300), 1.0)
        w = weights.double()
        coef = w * factors / float(w.sum())
        out = weighted_sum(updates, coef)
        scores = {"norm": norms.tolist(), "clip_factor": factors.tolist()}
        return RuleResult(out, list(range(n)), scores)
