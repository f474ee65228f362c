"""Validation-free contribution: cosine similarity of each update to the robust aggregate.

For projects without validation data. ``phi_i = max(0, cos(x_i, a))`` where ``a`` is the rule's
aggregate; an update pointing away from the consensus direction earns nothing. In the spirit of
FLTrust (Cao, Fang, Liu, Gong, "FLTrust: Byzantine-robust Federated Learning via Trust
Bootstrapping", NDSS 2021), which scores updates by ReLU-clipped cosine similarity to a trusted
direction; here the trusted direction is the robust aggregate. One pass over the updates: per
column chunk, dot products and squared norms in the input precision (float64 where float32 would
overflow or underflow), accumulated across chunks in float64 in chunk order (see
:mod:`aggregator.rules.distances`); a zero update or zero aggregate scores 0. Deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from aggregator.rules.chunks import map_chunks
from aggregator.rules.distances import chunk_sq_norms
from fedmarket.errors import AggregationError

from .base import Scorer, ScoringContext, register

__all__ = ["Cosine", "cosine_to"]


def cosine_to(updates: torch.Tensor, rows: Sequence[int], target: torch.Tensor) -> list[float]:
    """Return ``cos(updates[r], target)`` for each row ``r`` (0 where a norm is 0)."""
    idx = list(rows)
    index = torch.tensor(idx)
    every = idx == list(range(updates.shape[0]))
    narrow = target.to(updates.dtype)

    def cosine_chunk(cols: slice) -> torch.Tensor:
        block = updates[:, cols] if every else updates[:, cols].index_select(0, index)
        sq = chunk_sq_norms(block)
        t_sq = chunk_sq_norms(target[cols].unsqueeze(0))
        dots = block @ narrow[cols]
        if block.dtype != torch.float64 and not bool(torch.isfinite(dots).all()):
            dots = block.double() @ target[cols].double()
        return torch.cat([dots.double(), sq, t_sq])

    k = len(idx)
    sums = torch.zeros(2 * k + 1, dtype=torch.float64)
    for part in map_chunks(cosine_chunk, k, updates.shape[1]):
        sums += part
    dots, norms, target_sq = sums[:k], sums[k : 2 * k].sqrt(), float(sums[2 * k])
    denom = norms * target_sq**0.5
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
