"""Centered clipping.

Karimireddy, He, Jaggi, "Learning from History for Byzantine Robust Optimization", ICML 2021.
Starting from a centre ``v`` (the paper uses the previous momentum; within one round the natural
analogue is the zero update, i.e. the current global model), iterate ``iters`` times::

    v <- v + (1/n) * sum_i (x_i - v) * min(1, tau / ||x_i - v||)

``tau`` is the clipping radius; if not given it is the median of ``||x_i - v||`` at the first
iteration (then held fixed), a scale-free default. Differences, distances and sums use float64.
Every update is accepted (clipping bounds each one's influence instead); ``clip_factor`` records
the final ``min(1, tau / ||x_i - v||)`` of each.

One pass over the updates per iteration, plus one for the first distances: while a chunk is in
cache it is moved to the new centre and its distances to that centre are taken for the next
iteration. Float32 contiguous updates take the compiled kernel of :mod:`.clip_kernel` (no
float64 copy of the chunk, fixed arithmetic order, on the worker threads).
"""

from __future__ import annotations

import numpy as np
import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, float_param, int_param, register
from .chunks import kernel_input, map_chunks, on_threads, scratch

__all__ = ["CenteredClip", "CLIP_CHUNK_ELEMENTS"]

#: Elements per chunk here (its float64 copy is 8 MiB, reused by each worker thread).
CLIP_CHUNK_ELEMENTS = 1 << 20

#: Columns per span of the kernel path (each span has its own float64 distance partials).
CLIP_SPAN = 1 << 16


def _clip_pass(
    updates: torch.Tensor, center: torch.Tensor, coef: torch.Tensor | None, distances: bool
) -> torch.Tensor | None:
    """Move ``center`` (float64, in place) by ``coef @ (x - center)``, chunk by chunk.

    With ``coef`` None the centre stays (it is zero: the first pass). Returns
    ``||x_i - center||^2`` to the new centre when ``distances`` is set, else None. Float32
    contiguous updates go through the kernel of :mod:`.clip_kernel`.
    """
    n, dim = updates.shape
    if kernel_input(updates):
        return _kernel_clip_pass(updates, center, coef, distances)

    def clip_chunk(cols: slice) -> torch.Tensor | None:
        block = updates[:, cols]
        diff = scratch((block.shape[0], block.shape[1]), torch.float64)
        diff.copy_(block)
        if coef is not None:  # else the centre is still zero
            diff -= center[cols]
            step = coef @ diff
            center[cols] += step
            if distances:
                diff -= step
        return torch.linalg.vector_norm(diff, dim=1).square() if distances else None

    total = torch.zeros(n, dtype=torch.float64)
    for part in map_chunks(clip_chunk, n, dim, CLIP_CHUNK_ELEMENTS):
        if part is not None:
            total += part
    return total if distances else None


def _kernel_clip_pass(
    updates: torch.Tensor, center: torch.Tensor, coef: torch.Tensor | None, distances: bool
) -> torch.Tensor | None:
    """:func:`_clip_pass` through the compiled kernel, on fixed spans shared out to threads."""
    from .clip_kernel import clip_spans  # numba loads on first use

    x = updates.detach().numpy()
    n, dim = x.shape
    bounds = np.array([*range(0, dim, CLIP_SPAN), dim], dtype=np.int64)
    spans = len(bounds) - 1
    sq = np.zeros((spans, n))
    weights = np.zeros(n) if coef is None else np.ascontiguousarray(coef.numpy())
    args = (x, center.numpy(), weights, coef is not None, distances, bounds)
    on_threads(lambda lo, hi: clip_spans(*args, lo, hi, sq), spans)
    return torch.from_numpy(sq.sum(axis=0)) if distances else None  # spans added in order


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
        sq_dist = _clip_pass(updates, center, None, distances=True)
        for it in range(self.iters):
            assert sq_dist is not None
            dist = sq_dist.sqrt()
            if not bool(torch.isfinite(dist).all()):
                raise AggregationError("updates must be finite (non-finite values found)")
            if tau is None:
                tau = float(torch.quantile(dist, 0.5, interpolation="midpoint"))
            factors = torch.where(dist > tau, tau / dist.clamp(min=1e-300), 1.0)
            last = it == self.iters - 1
            sq_dist = _clip_pass(updates, center, factors / n, distances=not last)
        scores = {"clip_factor": factors.tolist()}
        return RuleResult(center.to(updates.dtype), list(range(n)), scores)
