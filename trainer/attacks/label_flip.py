"""Label flipping: train honestly on data whose labels are flipped (``y -> C-1-y``).

Data poisoning as studied by Tolpegin et al., 2020, "Data Poisoning Attacks Against Federated
Learning Systems" (ESORICS) and Fang et al., 2020 (USENIX Security). The update itself is the
honest procedure's output, which makes it harder to spot than model poisoning.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from fedmarket.datasets import Dataset
from trainer.attacks.base import Attack, AttackContext, Delta


class LabelFlip(Attack):
    """Every label ``y`` becomes ``num_classes - 1 - y`` before local training."""

    name = "label_flip"

    def poison_data(self, data: Dataset, context: AttackContext) -> Dataset:
        """The same samples with flipped labels (the class count comes from the spec)."""
        classes = context.num_classes or data.num_classes
        return Dataset(data.x, (classes - 1 - data.y).astype(data.y.dtype), data.source)

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The delta trained on flipped labels, unchanged."""
        return dict(honest_delta)
