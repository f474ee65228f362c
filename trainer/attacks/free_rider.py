"""Free-riding: claim a reward without training.

Lin, Du and Liu, 2019, "Free-riders in Federated Learning: Attacks and Defenses" (arXiv
1911.12560). ``mode="zeros"`` submits an all-zero delta (the global model unchanged);
``mode="global"`` submits the global model's own weights as if they were the update, the
naive copy an aggregator spots by comparing with the global model.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta

MODES = ("zeros", "global")


class FreeRider(Attack):
    """Zeros, or a copy of the global model; never trains."""

    name = "free_rider"
    trains = False

    def __init__(self, mode: str = "zeros"):
        if mode not in MODES:
            raise ValueError(f"free_rider mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """All zeros shaped like the model, or a copy of ``context.global_weights``."""
        if self.mode == "zeros":
            return {name: torch.zeros_like(t) for name, t in honest_delta.items()}
        if context.global_weights is None:
            raise ValueError("free_rider mode 'global' needs context.global_weights")
        return {name: t.detach().clone() for name, t in context.global_weights.items()}
