"""Coordinate-wise trimmed mean.

Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal
Statistical Rates", ICML 2018. For each coordinate, the ``k`` largest and ``k`` smallest values
are removed and the remaining ``n - 2k`` averaged (float64). ``k`` is either ``f`` (trim the
assumed number of Byzantine trainers from each side) or ``floor(beta * n)`` for the paper's
trimming fraction ``beta`` in [0, 0.5); default ``beta = 0.1``. Needs ``n > 2k``. No trainer is
rejected as a whole; sample weights are not used.
"""

from __future__ import annotations

import math

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, float_param, int_param, register
from .chunks import map_chunks, run_row_parts
from .median import sorted_columns

__all__ = ["TrimmedMean", "trimmed_mean"]


def trimmed_mean(updates: torch.Tensor, k: int) -> torch.Tensor:
    """Return the coordinate-wise mean after dropping the ``k`` lowest and ``k`` highest."""
    from .window_kernel import slice_means  # numba loads on first use

    n, dim = updates.shape
    if n <= 2 * k:
        raise AggregationError(f"trimmed_mean requires n > 2k, got n={n}, k={k}")
    out = torch.empty(dim, dtype=updates.dtype)

    def trimmed_chunk(cols: slice) -> None:
        means = run_row_parts(slice_means, sorted_columns(updates, cols), k, n - 2 * k)
        out[cols] = torch.from_numpy(means)

    for _ in map_chunks(trimmed_chunk, n, dim):
        pass
    return out


@register("trimmed_mean")
class TrimmedMean(Rule):
    """Coordinate-wise trimmed mean, trimming ``f`` or ``floor(beta * n)`` per side."""

    def __init__(self, beta: float | None = None, f: int | None = None):
        if beta is not None and f is not None:
            raise AggregationError("trimmed_mean takes beta or f, not both")
        self.f = None if f is None else int_param("trimmed_mean", "f", f)
        if f is None and beta is None:
            beta = 0.1
        self.beta = None if beta is None else float_param("trimmed_mean", "beta", beta, 0.0, 0.5)

    def trim_count(self, n: int) -> int:
        """Return how many values are removed from each side for ``n`` updates."""
        if self.f is not None:
            return self.f
        assert self.beta is not None
        return math.floor(self.beta * n)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        k = self.trim_count(updates.shape[0])
        return RuleResult(trimmed_mean(updates, k), list(range(updates.shape[0])))
