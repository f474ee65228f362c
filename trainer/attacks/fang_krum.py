"""Fang et al.'s attack on Krum: all colluders send one deviation Krum still selects.

Fang, Cao, Jia and Gong, 2020, "Local Model Poisoning Attacks to Byzantine-Robust Federated
Learning" (USENIX Security), full-knowledge attack on Krum. With ``s`` the sign of the honest
mean update, the colluders submit ``-lambda * s`` (the global model moved against the honest
direction); ``lambda`` starts at the paper's upper bound

    lambda_0 = min_i sum_{l in Gamma_i} |g_l - g_i| / ((m - 2c - 1) sqrt(d)) + max_i |g_i| / sqrt(d)

(``Gamma_i``: the ``m - c - 2`` honest updates nearest honest update ``i``; ``m`` trainers, ``c``
colluders, ``d`` parameters) and is halved until Krum with ``f = c`` selects a colluder. The
colluders' copies cluster together, which is exactly what Krum rewards; each adds its own small
noise (``noise``, relative to the RMS) so no duplicate hash matches.

Threat model: full knowledge of the round's honest updates (``context.peer_deltas``), or
partial knowledge (estimated on shards of the attacker's own data), and of ``m`` and ``c``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from trainer.attacks.base import Attack, AttackContext, Delta
from trainer.attacks.vectors import flat_stack, unflat, with_noise

__all__ = ["FangKrum", "krum_choice"]


def krum_choice(updates: torch.Tensor, f: int) -> int:
    """Index of the update Krum selects: least summed squared distance to n - f - 2 nearest."""
    n = updates.shape[0]
    near = max(1, n - f - 2)
    distances = torch.cdist(updates, updates) ** 2
    distances.fill_diagonal_(float("inf"))
    scores = distances.sort(dim=1).values[:, :near].sum(dim=1)
    return int(scores.argmin())


class FangKrum(Attack):
    """``-lambda * sign(mean honest)`` with the largest ``lambda`` (halving) Krum selects."""

    name = "fang_krum"

    def __init__(self, noise: float = 0.01, estimates: int = 4, tolerance: float = 1e-5):
        if not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be >= 0, got {noise}")
        self.noise = float(noise)
        self.estimates = estimates
        self.tolerance = float(tolerance)

    def crafted(self, honest: torch.Tensor, m: int, c: int) -> torch.Tensor:
        """The colluders' common update against honest updates ``[k, D]``."""
        k, d = honest.shape
        s = torch.sign(honest.mean(dim=0))
        pair = torch.cdist(honest, honest)
        pair.fill_diagonal_(float("inf"))
        near = max(1, min(k - 1, m - c - 2))
        spread = float(pair.sort(dim=1).values[:, :near].sum(dim=1).min())
        lam = (spread / (max(1, m - 2 * c - 1) * math.sqrt(d))
               + float(honest.norm(dim=1).max()) / math.sqrt(d))
        while lam > self.tolerance:
            candidate = -lam * s
            stacked = torch.cat([honest, candidate.expand(c, d)])
            if krum_choice(stacked, c) >= k:
                return candidate
            lam /= 2
        return -lam * s

    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The crafted update plus this attacker's own small noise."""
        samples = context.honest_samples(self.estimates)
        honest = flat_stack(samples)
        c = context.num_malicious or 1
        m = context.num_trainers or honest.shape[0] + c
        return unflat(with_noise(self.crafted(honest, m, c), self.noise, context.seed),
                      honest_delta)
