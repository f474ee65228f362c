"""Coordinate-wise median.

Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal
Statistical Rates", ICML 2018. Each coordinate of the aggregate is the median of that coordinate
over the updates (the mean of the two middle values when N is even, as ``numpy.median``). No
trainer is rejected as a whole, so every index is accepted; sample weights are not used.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, register
from .chunks import map_chunks, worker_pool

__all__ = ["CoordinateMedian", "coordinate_median", "sorted_columns"]


def sorted_columns(
    updates: torch.Tensor, cols: slice, rows: np.ndarray | None = None
) -> np.ndarray:
    """Return columns ``cols`` of ``updates`` (only ``rows`` if given) as ``[C, N]``, rows sorted.

    Transposed so that each coordinate's values are contiguous. Float32 contiguous updates are
    sorted by the sorting-network kernel of :mod:`.sort_kernel` on the worker threads; others
    by numpy's vectorised sort of short contiguous rows (several times faster than sorting
    along the strided axis, and than torch's sort, median or kthvalue on CPU). Both give the
    same order. Raises :class:`AggregationError` on a non-finite value (validation should have
    rejected it; a sort would silently misplace it).
    """
    if updates.dtype == torch.float32 and updates.is_contiguous() and updates.device.type == "cpu":
        values = _kernel_sorted_columns(updates, cols, rows)
    else:
        block = updates[:, cols].numpy().T
        values = np.ascontiguousarray(block if rows is None else block[:, rows])
        if np.isfinite(values).all():
            values.sort(axis=1)
        else:
            values = None
    if values is None:
        raise AggregationError("updates must be finite (non-finite values found)")
    return values


def _kernel_sorted_columns(
    updates: torch.Tensor, cols: slice, rows: np.ndarray | None
) -> np.ndarray | None:
    """:func:`sorted_columns` through the sorting-network kernel; None on a non-finite value."""
    from .sort_kernel import LANES, network, sort_columns  # numba loads on first use

    x = updates.detach().numpy()
    start, stop, _ = cols.indices(x.shape[1])
    chosen = np.arange(x.shape[0]) if rows is None else np.asarray(rows)
    chosen = chosen.astype(np.int64)
    low, high = network(len(chosen))
    out = np.empty((stop - start, len(chosen)), dtype=np.float32)
    blocks = math.ceil((stop - start) / LANES)
    parts = max(1, min(blocks, torch.get_num_threads()))
    cuts = [min(stop, start + blocks * g // parts * LANES) for g in range(parts + 1)]

    def sort_part(g: int) -> bool:
        view = out[cuts[g] - start : cuts[g + 1] - start]
        return bool(sort_columns(x, chosen, cuts[g], cuts[g + 1], low, high, view))

    pending = [worker_pool().submit(sort_part, g) for g in range(1, parts)]
    finite = sort_part(0)
    finite = all([finite] + [job.result() for job in pending])
    return out if finite else None


def coordinate_median(updates: torch.Tensor) -> torch.Tensor:
    """Return the coordinate-wise median ``[D]`` of ``updates`` ``[N, D]``."""
    n, dim = updates.shape
    out = torch.empty(dim, dtype=updates.dtype)

    def median_chunk(cols: slice) -> None:
        ordered = sorted_columns(updates, cols)
        if n % 2:
            mid = ordered[:, n // 2]
        else:
            mid = (ordered[:, n // 2 - 1].astype(np.float64) + ordered[:, n // 2]) / 2
        out[cols] = torch.from_numpy(np.ascontiguousarray(mid))

    for _ in map_chunks(median_chunk, n, dim):
        pass
    return out


@register("median")
class CoordinateMedian(Rule):
    """Coordinate-wise median; accepts every update."""

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        return RuleResult(coordinate_median(updates), list(range(updates.shape[0])))
