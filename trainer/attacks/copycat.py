"""Copycat: resubmit another trainer's revealed update as one's own.

The lazy-trainer threat that motivates commit-reveal (e.g. Weng et al., 2021, "DeepChain:
Auditable and Privacy-Preserving Deep Learning with Blockchain-based Incentive", and the
"Proof-of-Contribution" design of Buyukates et al., 2023 this project follows): the copy is
only available once revealed, after the commit deadline, so the protocol should leave the
copycat nothing to commit in time. ``noise`` adds a small Gaussian disguise against exact
duplicate detection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from fedmarket.codec import decode_update
from trainer.attacks.base import Attack, AttackContext, Delta


class Copycat(Attack):
    """The tensors of ``context.revealed_update`` (plus optional noise); never trains."""

    name = "copycat"
    trains = False

    def __init__(self, noise: float = 0.0):
        if not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"copycat noise must be >= 0, got {noise}")
        self.noise = float(noise)

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """Decode the copied update (codec-checked against the honest delta's shapes)."""
        if context.revealed_update is None:
            raise ValueError("copycat needs another trainer's revealed update bytes")
        shapes = {name: tuple(t.shape) for name, t in honest_delta.items()}
        copied, _ = decode_update(context.revealed_update, shapes)
        if self.noise == 0:
            return copied
        generator = torch.Generator().manual_seed(context.seed)
        return {
            name: copied[name]
            + self.noise * torch.randn(copied[name].shape, generator=generator, dtype=torch.float32)
            for name in sorted(copied)
        }
