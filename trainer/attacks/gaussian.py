"""Gaussian noise: submit random noise instead of an update.

The Gaussian Byzantine worker of Blanchard et al., 2017, "Machine Learning with Adversaries:
Byzantine Tolerant Gradient Descent" (NeurIPS) and Fang et al., 2020, "Local Model Poisoning
Attacks to Byzantine-Robust Federated Learning" (USENIX Security).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta


class Gaussian(Attack):
    """``N(0, std²)`` per coordinate, or honest + noise with ``additive=True``.

    Seeded from ``context.seed`` so a simulation replays exactly.
    """

    name = "gaussian"

    def __init__(self, std: float = 1.0, additive: bool = False):
        if not (math.isfinite(std) and std > 0):
            raise ValueError(f"gaussian attack std must be > 0, got {std}")
        self.std = float(std)
        self.additive = additive

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """Noise drawn from a generator seeded by ``context.seed``, in sorted-name order."""
        generator = torch.Generator().manual_seed(context.seed)
        out: Delta = {}
        for name in sorted(honest_delta):
            base = honest_delta[name]
            noise = torch.randn(base.shape, generator=generator, dtype=torch.float32) * self.std
            out[name] = base + noise if self.additive else noise
        return out
