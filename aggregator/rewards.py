"""Split a round's reward pool (integer wei) among trainers, exactly and reproducibly.

1. Each contribution score becomes an integer in micro-units:
   ``fixed = round(score * 10**6)``, computed exactly on the float's binary value
   (:class:`fractions.Fraction`), ties to even. Everything after this step is integer arithmetic,
   so anyone holding the fixed-point scores gets the same wei amounts.
2. Eligible trainers are the accepted ones with ``fixed > 0``; each gets
   ``pool * fixed_i // sum(fixed)`` (floor). The amounts never sum to more than the pool; the
   remainder (dust, less than one wei per eligible trainer) stays in escrow.
3. Rejected trainers, and accepted ones with ``fixed <= 0``, get 0.

Fallback when the round's accepted trainers all score ``<= 0`` (``fallback="equal"``, the
default): each accepted trainer gets ``pool // k``. Such a round is one where the scorer saw no
measurable improvement (GTG-Shapley's between-round truncation returns all zeros once the model
has converged; a noisy validation set can make every marginal slightly negative); the trainers
passed validation and the robust rule, did the work, and a market that paid nothing for it would
teach honest trainers to leave late rounds. ``fallback="none"`` pays nothing and leaves the whole
pool in escrow for projects that prefer strict proportionality. No accepted trainer: nothing paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

from fedmarket.errors import AggregationError
from fedmarket.round_result import CONTRIBUTION_SCALE

__all__ = ["SCORE_SCALE", "Fallback", "to_fixed_point", "split_rewards"]

#: Fixed-point scale of contribution scores: integer micro-units.
SCORE_SCALE = CONTRIBUTION_SCALE  # the result format's fixed point

Fallback = Literal["equal", "none"]


def to_fixed_point(score: float) -> int:
    """Return ``score * 10**6`` rounded to the nearest integer (ties to even), exactly."""
    if score != score or score in (float("inf"), float("-inf")):
        raise AggregationError(f"contribution score must be finite, got {score!r}")
    return round(Fraction(score) * SCORE_SCALE)


def split_rewards(
    pool: int,
    fixed_scores: Sequence[int],
    accepted: Sequence[bool],
    *,
    fallback: Fallback = "equal",
) -> list[int]:
    """Return each trainer's reward in wei; ``sum(result) <= pool``.

    ``fixed_scores`` are micro-unit integers (:func:`to_fixed_point`), one per trainer, aligned
    with ``accepted``.
    """
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 0:
        raise AggregationError(f"pool must be a non-negative integer (wei), got {pool!r}")
    if len(fixed_scores) != len(accepted):
        raise AggregationError(
            f"fixed_scores and accepted must have the same length, "
            f"got {len(fixed_scores)} and {len(accepted)}"
        )
    if any(isinstance(s, bool) or not isinstance(s, int) for s in fixed_scores):
        raise AggregationError("fixed_scores must be integers (micro-units)")
    if fallback not in ("equal", "none"):
        raise AggregationError(f"fallback must be 'equal' or 'none', got {fallback!r}")
    eligible = [i for i, s in enumerate(fixed_scores) if accepted[i] and s > 0]
    rewards = [0] * len(accepted)
    if eligible:
        total = sum(fixed_scores[i] for i in eligible)
        for i in eligible:
            rewards[i] = pool * fixed_scores[i] // total
        return rewards
    chosen = [i for i, ok in enumerate(accepted) if ok]
    if fallback == "equal" and chosen:
        for i in chosen:
            rewards[i] = pool // len(chosen)
    return rewards
