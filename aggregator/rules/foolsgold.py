"""FoolsGold: down-weight updates that are too similar to another one (Sybils, colluders).

Fung, Yoon, Beschastnikh, "The Limitations of Federated Learning in Sybil Settings", RAID 2020.
Threat model: one party controls several accounts (Sybils) or several parties collude, and they
send near-copies of one direction. Honest non-IID trainers differ from each other; copies do
not. Each update's weight falls with its largest cosine similarity to any other update, so k
near-copies together earn about what none of them would alone, whatever noise they add.

This is the single-round form (the paper accumulates update history per client; a round here
only sees its own updates). Declared sample counts are *not* used as weights: a trainer's claim
is unverifiable, and weighting by it would let a liar buy influence (issue 14). Every decision
is a function of the pairwise cosines, recorded per trainer as ``max_cosine`` and
``foolsgold_weight`` so it can be committed and re-checked.
"""

from __future__ import annotations

import math

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, float_param, register
from .chunks import all_finite

__all__ = ["FoolsGold", "foolsgold_weights"]

_EPS = 1e-12


def foolsgold_weights(updates: torch.Tensor, kappa: float) -> tuple[list[float], list[float]]:
    """Return per-update (weight in [0, 1], max cosine to another update).

    Steps as in the paper: pairwise cosines; pardoning (an update less similar to the rest is
    not punished for resembling a more suspicious one); ``1 - max cosine``; rescale so the most
    distinct update has 1; logit with confidence ``kappa``, clipped to [0, 1].
    """
    x = updates.to(torch.float64)
    n = x.shape[0]
    norms = x.norm(dim=1).clamp_min(_EPS)
    unit = x / norms[:, None]
    cs = unit @ unit.T
    cs.fill_diagonal_(-math.inf)
    vmax = cs.max(dim=1).values if n > 1 else torch.zeros(1, dtype=torch.float64)
    cs.fill_diagonal_(0.0)
    if n == 1:
        return [1.0], [0.0]
    pardon = cs.clone()
    for i in range(n):
        for j in range(n):
            if i != j and vmax[i] < vmax[j]:
                pardon[i, j] = cs[i, j] * vmax[i] / vmax[j]
    pardon.fill_diagonal_(-math.inf)
    alpha = (1.0 - pardon.max(dim=1).values).clamp(0.0, 1.0)
    top = float(alpha.max())
    if top <= _EPS:
        return [0.0] * n, [float(v) for v in vmax]
    alpha = alpha / top
    alpha = alpha.clamp(_EPS, 1.0 - 1e-9)
    logit = kappa * (torch.log(alpha / (1.0 - alpha)) + 0.5)
    weights = logit.clamp(0.0, 1.0)
    return [float(w) for w in weights], [float(v) for v in vmax]


@register("foolsgold")
class FoolsGold(Rule):
    """Mean of updates weighted by FoolsGold's similarity weights (sample counts ignored)."""

    def __init__(self, kappa: float = 1.0) -> None:
        """``kappa``: the logit's confidence; larger pushes weights to 0 or 1 faster."""
        self.kappa = float_param("foolsgold", "kappa", kappa, 0.0, 1e6, inclusive_low=False)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        if not all_finite(updates):
            raise AggregationError("updates must be finite (non-finite values found)")
        fg, vmax = foolsgold_weights(updates, self.kappa)
        w = torch.tensor(fg, dtype=torch.float64)
        if float(w.sum()) <= 0.0:  # all updates alike: their plain mean is that direction
            w = torch.ones_like(w)
        x = updates.to(torch.float64)
        aggregate = ((w[:, None] * x).sum(dim=0) / w.sum()).to(updates.dtype)
        accepted = [i for i, v in enumerate(w.tolist()) if v > 0.0]
        return RuleResult(aggregate, accepted, {"foolsgold_weight": fg, "max_cosine": vmax})
