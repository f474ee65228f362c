"""Krum: the single update closest to its n - f - 2 nearest neighbours.

Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with Adversaries: Byzantine Tolerant
Gradient Descent", NeurIPS 2017. Each update's score is the sum of squared distances to its
``n - f - 2`` nearest other updates; Krum returns the update with the lowest score. The paper's
guarantee needs ``n >= 2f + 3``. Ties are broken by the lower index.
"""

from __future__ import annotations

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, int_param, register
from .chunks import copy_row
from .distances import pairwise_sq_distances

__all__ = ["Krum", "krum_scores", "lowest", "check_krum_precondition"]


def check_krum_precondition(rule: str, n: int, f: int) -> None:
    """Raise unless ``n >= 2f + 3`` (Blanchard et al. 2017)."""
    if n < 2 * f + 3:
        raise AggregationError(f"{rule} requires n >= 2f + 3, got n={n}, f={f}")


def krum_scores(dist: torch.Tensor, num_neighbors: int) -> torch.Tensor:
    """Return each row's sum of squared distances to its ``num_neighbors`` nearest others.

    ``dist`` is a square matrix of squared distances; the diagonal is ignored.
    """
    others = dist.clone()
    others.fill_diagonal_(float("inf"))
    nearest = torch.sort(others, dim=1, stable=True).values[:, :num_neighbors]
    return nearest.sum(dim=1)


def lowest(scores: torch.Tensor, m: int) -> list[int]:
    """Return the indices of the ``m`` lowest scores, ties to the lower index, in index order."""
    order = torch.sort(scores, stable=True).indices[:m]
    return sorted(int(i) for i in order)


@register("krum")
class Krum(Rule):
    """Krum with ``f`` assumed Byzantine trainers; accepts the one selected update."""

    def __init__(self, f: int = 0):
        self.f = int_param("krum", "f", f)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        n = updates.shape[0]
        check_krum_precondition("krum", n, self.f)
        scores = krum_scores(pairwise_sq_distances(updates), n - self.f - 2)
        best = lowest(scores, 1)[0]
        return RuleResult(copy_row(updates, best), [best], {"krum_score": scores.tolist()})
