"""Min-Max: the crafted update that stays within the honest updates' largest pairwise distance.

Shejwalkar and Houmansadr, 2021, "Manipulating the Byzantine: Optimizing Model Poisoning Attacks
and Defenses for Federated Learning" (NDSS), the AGR-agnostic attacks. Colluders take the mean
``mu`` of the honest updates they see and a perturbation direction ``p`` — ``unit`` (``-mu /
|mu|``), ``std`` (minus the coordinate-wise standard deviation) or ``sign`` (``-sign(mu)``) — and
submit ``mu + gamma * p`` with the largest ``gamma`` such that its largest distance to an honest
update is at most the largest distance between two honest updates. It then looks no more of an
outlier than an honest update to distance-based rules (Krum, Bulyan, trimmed mean).

Threat model: colluding attackers with full knowledge (``context.peer_deltas``: the round's
honest updates) or partial knowledge (without them, honest updates estimated on disjoint
shards of their own data). Each attacker adds its own small noise (``noise``, relative to the
vector's RMS) so no duplicate hash matches. ``gamma`` is found by the paper's halving search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta
from trainer.attacks.vectors import flat_stack, unflat, with_noise

__all__ = ["MinMax", "perturbation", "largest_gamma"]

DIRECTIONS = ("unit", "std", "sign")


def perturbation(honest: torch.Tensor, direction: str) -> torch.Tensor:
    """The paper's perturbation vector ``p`` from honest updates ``[k, D]``."""
    mu = honest.mean(dim=0)
    if direction == "unit":
        return -mu / mu.norm().clamp_min(1e-30)
    if direction == "std":
        return -honest.std(dim=0, correction=0)
    if direction == "sign":
        return -torch.sign(mu)
    raise ValueError(f"unknown perturbation direction {direction!r}; choose one of {DIRECTIONS}")


def largest_gamma(fits: Callable[[float], bool], start: float = 10.0,
                  tolerance: float = 1e-5) -> float:
    """The paper's search: the largest ``gamma`` (to ``tolerance``) with ``fits(gamma)``.

    Steps of ``start / 2``, halved at every turn, moving up while it fits and down while not.
    """
    gamma, step, best = start, start / 2, 0.0
    while step > tolerance:
        if fits(gamma):
            best = max(best, gamma)
            gamma += step
        else:
            gamma -= step
        step /= 2
    return best


def _pairwise(honest: torch.Tensor) -> torch.Tensor:
    return torch.cdist(honest, honest)


class MinMax(Attack):
    """``mu + gamma * p`` with max distance to an honest update <= max honest pairwise distance."""

    name = "min_max"

    def __init__(self, direction: str = "std", noise: float = 0.01, estimates: int = 4):
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown perturbation direction {direction!r}; "
                             f"choose one of {DIRECTIONS}")
        if not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be >= 0, got {noise}")
        self.direction = direction
        self.noise = float(noise)
        self.estimates = estimates

    def fits(self, honest: torch.Tensor, candidate: torch.Tensor) -> bool:
        """Min-Max's condition on one candidate update."""
        reach = float(torch.cdist(candidate[None], honest).max())
        return reach <= float(_pairwise(honest).max())

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The crafted update plus this attacker's own small noise."""
        honest = flat_stack(context.honest_samples(self.estimates))
        mu, p = honest.mean(dim=0), perturbation(honest, self.direction)
        gamma = largest_gamma(lambda g: self.fits(honest, mu + g * p))
        return unflat(with_noise(mu + gamma * p, self.noise, context.seed), honest_delta)
