"""Validation-free contribution: cosine similarity of each update to the robust aggregate.

For projects without validation data. ``phi_i = max(0, cos(x_i, a))`` where ``a`` is the rule's
aggregate; an update pointing away from the consensus direction earns nothing. In the spirit of
FLTrust (Cao, Fang, Liu, Gong, "FLTrust: Byzantine-robust Federated Learning via Trust
Bootstrapping", NDSS 2021), which scores updates by ReLU-clipped cosine similarity to a trusted
direction; here the trusted direction is the robust aggregate. Dot products and norms are
accumulated in float64; a zero update or zero aggregate scores 0. Deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from aggregator.rules.distances import column_chunks
from fedmarket.errors import AggregationError

from .base import Scorer, ScoringContext, register

__all__ = ["Cosine", "cosine_to"]


def cosine_to(updates: torch.Tensor, rows: Sequence[int], target: torch.Tensor) -> list[float]:
    """Return ``cos(updates[r], target)`` for each row ``r`` (0 where a norm is 0)."""
    idx = list(rows)
    dots = torch.zeros(len(idx), dtype=torch.float64)
    norms = torch.zeros(len(idx), dtype=torch.float64)
    target_sq = 0.0
    for cols in column_chunks(len(idx), updates.shape[1]):
        block = updates[idx, cols].double()
        t = target[cols].double()
        dots += block @ t
        norms += (block * block).sum(dim=1)
        target_sq += float(t @ t)
    denom = norms.sqrt() * target_sq**0.5
    cos = torch.where(denom > 0, dots / denom.clamp(min=1e-300), torch.zeros_like(dots))
    return cos.clamp(-1.0, 1.0).tolist()


@register("cosine")
class Cosine(Scorer):
    """``max(0, cos(update, aggregate))``; needs no utility."""

    needs_utility = False

    def _score(self, ctx: ScoringContext) -> Sequence[float]:
        if ctx.updates is None or ctx.aggregate is None:
            raise AggregationError("cosine needs the updates and the aggregate")
        return [max(0.0, c) for c in cosine_to(ctx.updates, ctx.players, ctx.aggregate)]
