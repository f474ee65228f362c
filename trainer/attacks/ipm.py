"""IPM, inner-product manipulation: submit ``-epsilon`` times the mean honest update.

Xie, Koyejo and Gupta, 2020, "Fall of Empires: Breaking Byzantine-tolerant SGD by Inner
Product Manipulation" (UAI). All attackers send ``-epsilon * mean(honest)``, so the aggregate's
inner product with the true gradient turns negative; a small ``epsilon`` (0.1) slips past Krum,
a large one (e.g. 100) breaks median-style rules.

The mean is over the visible honest deltas (``context.peer_deltas``); without them, the
attacker's own honest delta is its unbiased estimate (IID data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta, stack


class IPM(Attack):
    """``-epsilon * mean(honest)``, coordinate-wise."""

    name = "ipm"

    def __init__(self, epsilon: float = 0.5):
        if not (math.isfinite(epsilon) and epsilon > 0):
            raise ValueError(f"IPM epsilon must be > 0, got {epsilon}")
        self.epsilon = float(epsilon)

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """``-epsilon`` times the mean of the peers' deltas (or of the own delta)."""
        samples = list(context.peer_deltas) or [honest_delta]
        return {
            name: (-self.epsilon * stack(samples, name).mean(dim=0)).to(torch.float32)
            for name in honest_delta
        }
