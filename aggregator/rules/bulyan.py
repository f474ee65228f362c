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
from .distances import column_chunks, pairwise_sq_distances
from .krum import krum_scores, lowest
from .median import SORT_CHUNK_ELEMENTS, sort_columns

__all__ = ["Bulyan", "bulyan_select"]


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


def _closest_to_median_mean(block: torch.Tensor, beta: int) -> torch.Tensor:
    """Per column of ``block`` ``[theta, C]``: mean of the ``beta`` values nearest the median.

    Equal distances go to the smaller value (a stable sort over the sorted column).
    """
    theta = block.shape[0]
    ordered = sort_columns(block).astype(np.float64)
    if theta % 2:
        med = ordered[theta // 2]
    else:
        med = (ordered[theta // 2 - 1] + ordered[theta // 2]) / 2
    nearest = np.argsort(np.abs(ordered - med), axis=0, kind="stable")[:beta]
    return torch.from_numpy(np.take_along_axis(ordered, nearest, axis=0).mean(axis=0))


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
        for cols in column_chunks(theta, dim, SORT_CHUNK_ELEMENTS):
            block = updates[selected, cols]
            out[cols] = _closest_to_median_mean(block, beta).to(updates.dtype)
        return RuleResult(out, selected, {"krum_score": scores.tolist()})
