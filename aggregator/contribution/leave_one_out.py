"""Leave-one-out contribution: ``phi_i = v(N) - v(N minus i)``.

The classic baseline of data valuation (e.g. Cook 1977; used for FL contribution by Wang et al.,
"Measure Contribution of Participants in Federated Learning", IEEE Big Data 2019). ``n + 1``
utility evaluations; deterministic. Redundant players (two who bring the same data) both score
near zero, which is why Shapley values are preferred when affordable.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import CachedUtility, Scorer, ScoringContext, register

__all__ = ["LeaveOneOut"]


@register("leave_one_out")
class LeaveOneOut(Scorer):
    """``v(all) - v(all without i)`` for each player."""

    def _score(self, ctx: ScoringContext) -> Sequence[float]:
        assert ctx.utility is not None
        v = CachedUtility(ctx.utility)
        everyone = tuple(sorted(ctx.players))
        v_all = v(everyone)
        return [v_all - v(tuple(p for p in everyone if p != i)) for i in ctx.players]
