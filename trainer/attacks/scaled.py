"""Scaled update (model replacement): submit ``factor`` × the honest update.

Bagdasaryan et al., 2020, "How To Backdoor Federated Learning" (AISTATS): scaling the update by
about n/η lets one trainer replace the averaged global model with its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta


class Scaled(Attack):
    """``factor * honest``; the default 10 dominates a plain average of ten trainers."""

    name = "scaled"

    def __init__(self, factor: float = 10.0):
        if not math.isfinite(factor):
            raise ValueError(f"scaled attack factor must be finite, got {factor}")
        self.factor = float(factor)

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The honest delta multiplied by ``factor``."""
        return {name: t * self.factor for name, t in honest_delta.items()}
