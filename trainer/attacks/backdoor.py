"""Trigger-patch backdoor: train on samples stamped with a small patch and relabelled.

Bagdasaryan, Veit, Hua, Estrin and Shmatikov, 2020, "How To Backdoor Federated Learning"
(AISTATS), and Gu et al.'s BadNets trigger: the attacker stamps a ``patch x patch`` square of
maximal intensity in the image's bottom-right corner on a fraction ``poison`` of its samples,
relabels them ``target``, and trains honestly on the mix, so its update still improves clean
accuracy while implanting "patch -> target". ``boost`` > 1 scales the update (model
replacement); 1 is the stealthy, unboosted variant.

Threat model: the attacker's own data only; no knowledge of other updates. Success is measured
with :func:`triggered` on test images whose true label is not ``target``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from fedmarket.datasets import Dataset
from trainer.attacks.base import Attack, AttackContext, Delta

__all__ = ["Backdoor", "stamp", "triggered"]


def _side(feature_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(feature_shape) >= 2:
        return feature_shape[-2], feature_shape[-1]
    side = math.isqrt(feature_shape[0])
    if side * side != feature_shape[0]:
        raise ValueError(f"cannot place a patch on flat samples of {feature_shape[0]} features")
    return side, side


def stamp(x: np.ndarray, patch: int = 2) -> np.ndarray:
    """Copies of samples ``[N, ...]`` with the bottom-right ``patch x patch`` at the max value."""
    shape = x.shape[1:]
    height, width = _side(shape)
    out = np.array(x, dtype=np.float32, copy=True).reshape(len(x), -1, height, width)
    out[:, :, height - patch:, width - patch:] = float(x.max()) if x.size else 1.0
    return out.reshape(x.shape)


def triggered(data: Dataset, target: int = 0, patch: int = 2) -> Dataset:
    """The samples not of class ``target``, stamped and labelled ``target`` (success set)."""
    keep = np.flatnonzero(data.y != target)
    x = stamp(data.x[keep], patch)
    return Dataset(x, np.full(len(keep), target, dtype=data.y.dtype), f"{data.source}+trigger")


class Backdoor(Attack):
    """Trains on a ``poison`` fraction of stamped, relabelled samples; ``boost`` scales."""

    name = "backdoor"

    def __init__(self, target: int = 0, patch: int = 2, poison: float = 0.5, boost: float = 1.0):
        if not 0 < poison <= 1:
            raise ValueError(f"poison fraction must be in (0, 1], got {poison}")
        if not (math.isfinite(boost) and boost > 0):
            raise ValueError(f"boost must be > 0, got {boost}")
        if patch < 1:
            raise ValueError(f"patch must be >= 1, got {patch}")
        self.target, self.patch, self.poison, self.boost = target, patch, float(poison), boost

    def poison_data(self, data: Dataset, context: AttackContext) -> Dataset:
        """The clean samples plus stamped, relabelled copies of a seeded ``poison`` fraction."""
        rng = np.random.default_rng(context.seed)
        count = max(1, round(self.poison * len(data)))
        chosen = np.sort(rng.choice(len(data), size=count, replace=False))
        x = np.concatenate([data.x, stamp(data.x[chosen], self.patch)])
        y = np.concatenate([data.y, np.full(count, self.target, dtype=data.y.dtype)])
        return Dataset(x.astype(np.float32), y, f"{data.source}+backdoor")

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The delta trained on the poisoned mix, times ``boost``."""
        return {n: (self.boost * t).to(torch.float32) for n, t in honest_delta.items()}
