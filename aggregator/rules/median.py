"""Coordinate-wise median.

Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal
Statistical Rates", ICML 2018. Each coordinate of the aggregate is the median of that coordinate
over the updates (the mean of the two middle values when N is even, as ``numpy.median``). No
trainer is rejected as a whole, so every index is accepted; sample weights are not used.
"""

from __future__ import annotations

import numpy as np
import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, register
from .chunks import kernel_input, map_chunks, on_threads

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
    sort = _kernel_sorted_columns if kernel_input(updates) else _numpy_sorted_columns
    values = sort(updates, cols, rows)
    if values is None:
        raise AggregationError("updates must be finite (non-finite values found)")
    return values


def _numpy_sorted_columns(
    updates: torch.Tensor, cols: slice, rows: np.ndarray | None
) -> np.ndarray | None:
    """:func:`sorted_columns` through numpy's sort; None on a non-finite value."""
    block = updates[:, cols].numpy().T
    values = np.ascontiguousarray(block if rows is None else block[:, rows])
    if not np.isfinite(values).all():
        return None
    values.sort(axis=1)
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

    def sort_part(lo: int, hi: int) -> bool:
        return bool(sort_columns(x, chosen, lo, hi, low, high, out[lo - start : hi - start]))

    return out if all(on_threads(sort_part, stop, start, unit=LANES)) else None


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
