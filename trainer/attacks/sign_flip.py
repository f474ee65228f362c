"""Sign flipping: submit the negated honest update.

A classic Byzantine baseline, e.g. Damaskinos et al., 2018, "Asynchronous Byzantine Machine
Learning (the case of SGD)", and Li et al., 2019, "RSA: Byzantine-Robust Stochastic
Aggregation Methods for Distributed Learning from Heterogeneous Datasets".
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta


class SignFlip(Attack):
    """``-honest``: pushes the global model uphill along the attacker's own gradient."""

    name = "sign_flip"

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """Exactly the negated honest delta."""
        return {name: -t for name, t in honest_delta.items()}
