"""Fang et al.'s attack on trimmed mean and median: every coordinate pushed past the honest range.

Fang, Cao, Jia and Gong, 2020, "Local Model Poisoning Attacks to Byzantine-Robust Federated
Learning" (USENIX Security), Section 4.2. ``s_j`` is the sign of coordinate ``j`` of the honest
mean update (the way the global model would move); the colluders move it the other way with
values just beyond the honest extremes, where a coordinate-wise trimmed mean or median keeps
them or lets them shift what it keeps:

* full knowledge (the round's honest updates, ``context.peer_deltas``), with ``w_max`` and
  ``w_min`` the honest maximum and minimum of coordinate ``j`` and ``b`` = :attr:`b`: where
  ``s_j = +1`` a value drawn uniformly from ``[w_min / b, w_min]`` if ``w_min > 0``, else from
  ``[b * w_min, w_min]``; where ``s_j = -1`` from ``[w_max, b * w_max]`` if ``w_max > 0``, else
  from ``[w_max, w_max / b]``;
* partial knowledge (``estimates`` deltas trained on shards of the attacker's own data), with
  their mean ``mu_j`` and standard deviation ``sigma_j``: from ``[mu_j - 4 sigma_j, mu_j - 3
  sigma_j]`` where ``s_j = +1`` and from ``[mu_j + 3 sigma_j, mu_j + 4 sigma_j]`` otherwise.

Each colluder draws its own values (seeded by ``context.seed``), as the paper's crafted local
models are drawn independently, so no two are copies. The same attack is the paper's attack on
the median.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta
from trainer.attacks.vectors import flat_stack, unflat

__all__ = ["FangTrimmedMean"]


class FangTrimmedMean(Attack):
    """Coordinate-wise values beyond the honest extremes, against the honest direction."""

    name = "fang_trmean"

    def __init__(self, b: float = 2.0, estimates: int = 4):
        if not (math.isfinite(b) and b > 1):
            raise ValueError(f"fang_trmean b must be > 1, got {b}")
        if estimates < 2:
            raise ValueError("fang_trmean needs at least 2 estimates for a standard deviation")
        self.b = float(b)
        self.estimates = estimates

    def crafted(self, honest: torch.Tensor, full_knowledge: bool, seed: int) -> torch.Tensor:
        """One colluder's update against honest updates ``[k, D]`` (float64)."""
        s = torch.sign(honest.mean(dim=0))
        u = torch.rand(honest.shape[1], generator=torch.Generator().manual_seed(seed),
                       dtype=torch.float64)
        if full_knowledge:
            low, high = honest.min(dim=0).values, honest.max(dim=0).values
            b = self.b
            # s = +1: just below the minimum; s = -1 (or 0): just above the maximum.
            below_lo = torch.where(low > 0, low / b, b * low)
            above_hi = torch.where(high > 0, b * high, high / b)
            lo = torch.where(s > 0, below_lo, high)
            hi = torch.where(s > 0, low, above_hi)
        else:
            mu, sigma = honest.mean(dim=0), honest.std(dim=0, correction=0)
            lo = torch.where(s > 0, mu - 4 * sigma, mu + 3 * sigma)
            hi = torch.where(s > 0, mu - 3 * sigma, mu + 4 * sigma)
        return lo + u * (hi - lo)

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The crafted update, cast back to the honest delta's float32 shapes."""
        full = bool(context.peer_deltas)
        honest = flat_stack(context.honest_samples(self.estimates))
        return unflat(self.crafted(honest, full, context.seed), honest_delta)
