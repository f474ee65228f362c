"""Bulyan: Krum-selected updates, then a coordinate-wise trimmed average around the median.

El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of Distributed Learning in Byzantium",
ICML 2018. With ``n >= 4f + 3``: (1) select ``theta = n - 2f`` updates by applying Krum
repeatedly, each time removing the selected update from the candidates (scores recomputed on the
remaining set, ``r - f - 2`` neighbours, at least 1); (2) for every coordinate, average the
``beta = theta - 2f`` selected values closest to that coordinate's median. The pairwise distances
are computed once and reused by every Krum pass. Ties go to the lower index. Sample weights are
not used (the second step mixes trainers per coordinate).
"""

from __future__ import annotations

import numpy as np
import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, int_param, register
from .chunks import map_chunks, run_row_parts
from .distances import pairwise_sq_distances
from .krum import krum_scores, lowest
from .median import sorted_columns

__all__ = ["Bulyan", "bulyan_select", "closest_to_median_mean"]


def bulyan_select(dist: torch.Tensor, f: int, theta: int) -> list[int]:
    """Return the ``theta`` indices chosen by iterated Krum on squared distances ``dist``."""
    remaining = list(range(dist.shape[0]))
    chosen: list[int] = []
    for _ in range(theta):
        r = len(remaining)
        if r == 1:
            pick = 0
        else:
            sub = dist[remaining][:, remaining]
            pick = lowest(krum_scores(sub, min(r - 1, max(1, r - f - 2))), 1)[0]
        chosen.append(remaining.pop(pick))
    return chosen


def closest_to_median_mean(ordered: np.ndarray, beta: int) -> np.ndarray:
    """Per sorted row of ``ordered`` ``[C, theta]``: mean of the ``beta`` values nearest the median.

    Equal distances go to the smaller value. In a sorted row the distance to the median falls to
    the middle and rises after it: the values left of the middle, read leftwards, and those right
    of it, read rightwards, are two lists sorted by distance, and the ``beta`` nearest values are
    the first ``beta`` of their merge (the left one first on a tie). That merge takes ``k`` from
    the left, ``k`` being the number of ``i < beta`` with ``left[i] <= right[beta - 1 - i]``
    (monotone in ``i``), so the nearest values are the window of ``beta`` sorted values starting
    ``k`` left of the middle. Values at equal distance on one side are equal, so which of them
    the rule takes does not change the mean. Sums in float64, in ascending order, by the kernel of
    :mod:`.window_kernel` on the worker threads.
    """
    from .window_kernel import slice_means, window_means  # numba loads on first use

    theta = ordered.shape[1]
    if beta == theta:
        return run_row_parts(slice_means, ordered, 0, theta)
    return run_row_parts(window_means, ordered, beta)


@register("bulyan")
class Bulyan(Rule):
    """Bulyan over Krum with ``f`` assumed Byzantine trainers; accepts the Krum-selected set."""

    def __init__(self, f: int = 0):
        self.f = int_param("bulyan", "f", f)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        n, dim = updates.shape
        f = self.f
        if n < 4 * f + 3:
            raise AggregationError(f"bulyan requires n >= 4f + 3, got n={n}, f={f}")
        dist = pairwise_sq_distances(updates)
        scores = krum_scores(dist, n - f - 2)
        theta = n - 2 * f
        beta = theta - 2 * f
        selected = sorted(bulyan_select(dist, f, theta))
        out = torch.empty(dim, dtype=updates.dtype)
        rows = np.asarray(selected)

        def bulyan_chunk(cols: slice) -> None:
            ordered = sorted_columns(updates, cols, rows)
            out[cols] = torch.from_numpy(closest_to_median_mean(ordered, beta))

        for _ in map_chunks(bulyan_chunk, theta, dim):
            pass
        return RuleResult(out, selected, {"krum_score": scores.tolist()})
