"""ALIE, "A Little Is Enough": a small, coordinated shift hidden inside the honest spread.

Baruch, Baruch and Goldberg, 2019, "A Little Is Enough: Circumventing Defenses For Distributed
Learning" (NeurIPS). Colluding attackers submit ``mean - z * std`` per coordinate, where mean
and std are taken over the honest updates they see (or estimate). ``z`` is the paper's
``z_max``: with ``n`` trainers and ``f`` attackers, ``s = floor(n/2 + 1) - f`` honest trainers
must be "won over" and ``z_max = Phi^{-1}((n - s) / n)`` (Phi the standard normal CDF), small
enough that median- and distance-based rules keep the malicious update.

Statistics are over the visible honest deltas (``context.peer_deltas``), or, without them, over
``estimates`` deltas trained on disjoint shards of the attacker's own data. The standard
deviation is the population one (divide by k).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist

import torch

from trainer.attacks.base import Attack, AttackContext, Delta, stack


def z_max(n: int, f: int) -> float:
    """The paper's largest undetectable shift, in standard deviations."""
    if not 0 < f < n:
        raise ValueError(f"ALIE needs 0 < f < n, got n={n}, f={f}")
    s = math.floor(n / 2 + 1) - f
    return NormalDist().inv_cdf((n - s) / n)


class ALIE(Attack):
    """``mean - z * std`` of the honest deltas, coordinate-wise."""

    name = "alie"

    def __init__(self, z: float | None = None, estimates: int = 4):
        if z is not None and not math.isfinite(z):
            raise ValueError(f"ALIE z must be finite, got {z}")
        if estimates < 2:
            raise ValueError("ALIE needs at least 2 estimates for a standard deviation")
        self.z = z
        self.estimates = estimates

    def resolve_z(self, context: AttackContext) -> float:
        """``z`` if given, else ``z_max(n, f)`` from the context, else 1.0.

        1.0 is about what z_max gives for typical rounds (n=50, f=12 gives 0.58; n=10, f=3
        gives 0.84), when the attacker does not know the round's size.
        """
        if self.z is not None:
            return self.z
        if context.num_trainers and context.num_malicious:
            return z_max(context.num_trainers, context.num_malicious)
        return 1.0

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """``mean - z * std`` over the honest samples, cast back to float32."""
        samples = context.honest_samples(self.estimates)
        z = self.resolve_z(context)
        out: Delta = {}
        for name in honest_delta:
            values = stack(samples, name)
            mean = values.mean(dim=0)
            std = values.std(dim=0, correction=0)
            out[name] = (mean - z * std).to(torch.float32)
        return out
