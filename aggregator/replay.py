"""Stale copies: updates that are near-copies of an update revealed in the previous round.

Commit–reveal stops a copycat from copying an update of the same round (it is revealed only
after the commit deadline), so what a copycat can still do is resubmit an update revealed the
round before, with a little noise against the exact-digest check in
:mod:`aggregator.validation` (the lazy-trainer threat of Weng et al., "DeepChain", 2021; issue
14 measured 9-13 % of the rewards for it under the ``trusted`` default: a stale update still
points the reference's way while the model has barely moved).

The test is a cosine, like the near-copy groups of :mod:`aggregator.rules.similarity_groups`:
an update is stale when its cosine to *another* trainer's previous-round update reaches
:data:`OTHERS_THRESHOLD`, or to the *same* trainer's previous-round update reaches
:data:`OWN_THRESHOLD`. Measured on digits (10 parties, 5 local Adam epochs, rounds 2-7, IID and
Dirichlet 0.5, seeds 0-2): an honest update's cosine to another trainer's previous update was at
most 0.44, while its cosine to its own previous update grows as training converges (0.47-0.63
in round 2, 0.75-0.87 in rounds 4-7, levelling off), hence the stricter test for one's own.
A replay with noise of 1 % of the update's RMS per coordinate has cosine 0.9999; to fall below
0.9 a copycat must add noise of about half the update's RMS, which costs it most of what the
copy is worth.

Deterministic from the round's rows and the previous round's revealed rows (both fetched by
CID from the chain's reveals, :mod:`aggregator.inputs`), so verifiers re-execute it; each
trainer's largest cosine to an earlier update is recorded (``stale_cosine``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fedmarket.errors import AggregationError

__all__ = ["OTHERS_THRESHOLD", "OWN_THRESHOLD", "stale_cosines", "is_stale"]

# Cosine to another trainer's previous-round update from which an update is a copy of it
# (the near-copy threshold of the ``trusted`` rule; honest cross-round pairs measured <= 0.44).
OTHERS_THRESHOLD = 0.9
# Cosine to the trainer's own previous-round update from which it is a replay of it (honest
# consecutive updates measured <= 0.87 in rounds 2-7, levelling off from round 4).
OWN_THRESHOLD = 0.99

_TINY = 1e-30


def _unit_rows(rows: torch.Tensor) -> torch.Tensor:
    rows = rows.to(torch.float64)
    norms = rows.norm(dim=1, keepdim=True)
    return torch.where(norms > _TINY, rows / norms.clamp_min(_TINY), torch.zeros_like(rows))


def stale_cosines(updates: torch.Tensor, trainers: Sequence[str], earlier: torch.Tensor,
                  earlier_trainers: Sequence[str]) -> list[tuple[float, float]]:
    """Per row of ``updates``: (largest cosine to another trainer's earlier row, to its own).

    A trainer absent from the earlier round has own-cosine 0; zero rows have cosine 0.
    """
    if earlier.ndim != 2 or earlier.shape[0] != len(earlier_trainers):
        raise AggregationError("earlier updates must be [M, D] with one trainer per row")
    if earlier.shape[0] and earlier.shape[1] != updates.shape[1]:
        raise AggregationError(f"earlier updates have {earlier.shape[1]} parameters, the "
                               f"round's {updates.shape[1]}")
    if earlier.shape[0] == 0:
        return [(0.0, 0.0)] * updates.shape[0]
    # A non-finite row (rejected by validation anyway) is compared as a zero row.
    cos = torch.nan_to_num(_unit_rows(updates) @ _unit_rows(earlier).T, nan=0.0, posinf=0.0,
                           neginf=0.0)
    before = [t.lower() for t in earlier_trainers]
    out = []
    for i, trainer in enumerate(trainers):
        own = [j for j, t in enumerate(before) if t == trainer.lower()]
        others = [j for j in range(len(before)) if j not in own]
        out.append((float(cos[i, others].max()) if others else 0.0,
                    float(cos[i, own].max()) if own else 0.0))
    return out


def is_stale(others: float, own: float) -> bool:
    """Whether cosines ``(others, own)`` from :func:`stale_cosines` make an update a replay."""
    return others >= OTHERS_THRESHOLD or own >= OWN_THRESHOLD
