"""GTG-Shapley: guided, truncated Monte-Carlo Shapley values for one FL round.

Liu, Tian, Shi, Wang, Yang, "GTG-Shapley: Efficient and Accurate Participant Contribution
Evaluation in Federated Learning", ACM TIST 13(4), 2022. The Shapley value of player ``i`` is
the expected marginal gain ``v(P_i + i) - v(P_i)`` over uniformly random orderings, ``P_i`` being
the players before ``i``. GTG-Shapley estimates it from permutations with three savings:

* between-round truncation: if ``|v(N) - v(empty)| < eps_between`` the round changed nothing
  measurable and every player scores 0, with no further evaluation;
* within-round truncation: along a permutation, once ``|v(N) - v(prefix)| < eps_within`` the
  remaining players' marginals are taken as 0 without evaluating;
* guided sampling: each sweep draws ``n`` permutations, the ``k``-th putting player ``k`` first
  and shuffling the rest, so every player is seen in the high-variance first position equally.

Sweeps stop when the relative L1 change of the estimates between consecutive sweeps falls below
``tol`` (after ``min_sweeps``), after ``max_sweeps``, or once ``max_evaluations`` distinct
coalitions have been evaluated. Evaluations are memoised. Along each permutation the marginals
telescope to ``v(last prefix) - v(empty)``, so the scores sum to ``v(N) - v(empty)`` within
``eps_within`` (efficiency). Permutations come from :class:`SeededRng`, so the scores are a
function of the round's seed and the utility only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.rules.base import float_param, int_param

from .base import CachedUtility, Scorer, ScoringContext, SeededRng, register

__all__ = ["GTGShapley"]


@register("gtg_shapley")
class GTGShapley(Scorer):
    """Guided truncated Monte-Carlo Shapley over the accepted updates."""

    def __init__(
        self,
        eps_between: float = 1e-4,
        eps_within: float = 1e-4,
        tol: float = 0.01,
        min_sweeps: int = 2,
        max_sweeps: int = 50,
        max_evaluations: int | None = None,
    ):
        inf = float("inf")
        self.eps_between = float_param("gtg_shapley", "eps_between", eps_between, 0.0, inf)
        self.eps_within = float_param("gtg_shapley", "eps_within", eps_within, 0.0, inf)
        self.tol = float_param("gtg_shapley", "tol", tol, 0.0, inf)
        self.min_sweeps = int_param("gtg_shapley", "min_sweeps", min_sweeps, minimum=1)
        self.max_sweeps = int_param("gtg_shapley", "max_sweeps", max_sweeps, minimum=min_sweeps)
        self.max_evaluations = (
            None
            if max_evaluations is None
            else int_param("gtg_shapley", "max_evaluations", max_evaluations, minimum=1)
        )

    def _score(self, ctx: ScoringContext) -> Sequence[float]:
        assert ctx.utility is not None
        v = CachedUtility(ctx.utility)
        players = list(ctx.players)
        n = len(players)
        v_empty = v(())
        v_all = v(players)
        if abs(v_all - v_empty) < self.eps_between:
            return [0.0] * n
        rng = SeededRng(ctx.seed)
        totals = [0.0] * n
        samples = 0
        previous: list[float] | None = None
        estimate = [0.0] * n
        for sweep in range(1, self.max_sweeps + 1):
            for first in range(n):
                rest = [j for j in range(n) if j != first]
                rng.shuffle(rest)
                prefix: list[int] = []
                v_prev = v_empty
                for j in [first, *rest]:
                    prefix.append(players[j])
                    v_cur = v(prefix) if abs(v_all - v_prev) >= self.eps_within else v_prev
                    totals[j] += v_cur - v_prev
                    v_prev = v_cur
            samples += n
            estimate = [t / samples for t in totals]
            if self.max_evaluations is not None and v.evaluations >= self.max_evaluations:
                break
            if previous is not None and sweep >= self.min_sweeps:
                change = sum(abs(a - b) for a, b in zip(estimate, previous, strict=True))
                scale = sum(abs(a) for a in estimate)
                if change <= self.tol * max(scale, 1e-12):
                    break
            previous = estimate
        return estimate
