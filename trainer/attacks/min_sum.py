"""Min-Sum: the crafted update whose summed squared distances stay within an honest update's.

Shejwalkar and Houmansadr, 2021 (NDSS), the second AGR-agnostic attack: like
:mod:`.min_max`, ``mu + gamma * p``, with the largest ``gamma`` such that the sum of squared
distances to the honest updates is at most the largest such sum of an honest update. Tighter
than Min-Max, so harder to spot by scores that sum distances (Krum). Same threat model,
directions and per-attacker noise as Min-Max.
"""

from __future__ import annotations

import torch

from trainer.attacks.min_max import MinMax

__all__ = ["MinSum"]


class MinSum(MinMax):
    """``mu + gamma * p`` with sum of squared distances <= an honest update's largest sum."""

    name = "min_sum"

    def fits(self, honest: torch.Tensor, candidate: torch.Tensor) -> bool:
        """Min-Sum's condition on one candidate update."""
        spent = float((torch.cdist(candidate[None], honest) ** 2).sum())
        return spent <= float((torch.cdist(honest, honest) ** 2).sum(dim=1).max())
