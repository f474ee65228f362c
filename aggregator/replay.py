"""Stale copies: updates that are near-copies of an update revealed in the previous round.

Commit–reveal stops a copycat from copying an update of the same round (it is revealed only
after the commit deadline), so what a copycat can still do is resubmit an update revealed the
round before, with a little noise against the exact-digest check in
:mod:`aggregator.validation` (the lazy-trainer threat of Weng et al., "DeepChain", 2021; issue
14 measured 9-13 % of the rewards for it under the ``trusted`` default: a stale update still
points the reference's way while the model has barely moved).

The test is a cosine, like the near-copy groups of :mod:`aggregator.rules.similarity_groups`:
an update is stale when its cosine to *another* trainer's previous-round update reaches
:data:`OTHERS_THRESHOLD`. Measured honest updates' largest cosine to another trainer's previous
update: at most 0.44 on digits with 5 local Adam epochs (10 parties, rounds 2-7, IID and
Dirichlet 0.5, seeds 0-2), but 0.82-0.88 with the default training spec (one epoch of plain
SGD, where every update is close to the full gradient; ``tests/e2e``), hence 0.95: a replay
with noise of 1 % of the update's RMS per coordinate has cosine 0.9999, and to fall below 0.95
a copycat must add noise of a third of the update's RMS. A trainer's cosine to its *own*
previous update is recorded but not judged: it reached 0.96-0.98 between honest rounds with the
default spec, so no bar separates a noisy self-replay from honest retraining there (an exact
self-replay is still caught by digest).

Deterministic from the round's rows and the previous round's revealed rows (both fetched by
CID from the chain's reveals, :mod:`aggregator.inputs`), so verifiers re-execute it; each
trainer's largest cosine to another's earlier update is recorded (``stale_cosine``), and to its
own (``own_stale_cosine``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fedmarket.errors import AggregationError

__all__ = ["OTHERS_THRESHOLD", "stale_cosines", "is_stale"]

# Cosine to another trainer's previous-round update from which an update is a copy of it
# (honest cross-round pairs measured <= 0.44 with 5 Adam epochs, <= 0.88 with one SGD epoch).
OTHERS_THRESHOLD = 0.95

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


def is_stale(others: float) -> bool:
    """Whether the cosine to another trainer's earlier update makes an update a replay."""
    return others >= OTHERS_THRESHOLD
