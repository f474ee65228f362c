"""Centered clipping.

Karimireddy, He, Jaggi, "Learning from History for Byzantine Robust Optimization", ICML 2021.
Starting from a centre ``v`` (the paper uses the previous momentum; within one round the natural
analogue is the zero update, i.e. the current global model), iterate ``iters`` times::

    v <- v + (1/n) * sum_i (x_i - v) * min(1, tau / ||x_i - v||)

``tau`` is the clipping radius; if not given it is the median of ``||x_i - v||`` at the first
iteration (then held fixed), a scale-free default. Distances and sums use float64. Every update
is accepted (clipping bounds each one's influence instead); ``clip_factor`` records the final
``min(1, tau / ||x_i - v||)`` of each.
"""

from __future__ import annotations

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, float_param, int_param, register
from .distances import column_chunks

__all__ = ["CenteredClip"]


def _distances_to(updates: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(updates.shape[0], dtype=torch.float64)
    for cols in column_chunks(updates.shape[0], updates.shape[1]):
        diff = updates[:, cols].double() - center[cols]
        out += (diff * diff).sum(dim=1)
    return out.sqrt()


@register("centered_clip")
class CenteredClip(Rule):
    """Centered clipping with radius ``tau`` (default: median distance) for ``iters`` steps."""

    def __init__(self, tau: float | None = None, iters: int = 3):
        self.tau = None if tau is None else float_param(
            "centered_clip", "tau", tau, 0.0, float("inf"), inclusive_low=False
        )
        self.iters = int_param("centered_clip", "iters", iters, minimum=1)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        n, dim = updates.shape
        center = torch.zeros(dim, dtype=torch.float64)
        tau = self.tau
        factors = torch.ones(n, dtype=torch.float64)
        for _ in range(self.iters):
            dist = _distances_to(updates, center)
            if not bool(torch.isfinite(dist).all()):
                raise AggregationError("updates must be finite (non-finite values found)")
            if tau is None:
                tau = float(torch.quantile(dist, 0.5, interpolation="midpoint"))
            factors = torch.where(dist > tau, tau / dist.clamp(min=1e-300), 1.0)
            coef = factors / n
            step = torch.zeros(dim, dtype=torch.float64)
            for cols in column_chunks(n, dim):
                step[cols] = coef @ (updates[:, cols].double() - center[cols])
            center = center + step
        scores = {"clip_factor": factors.tolist()}
        return RuleResult(center.to(updates.dtype), list(range(n)), scores)
