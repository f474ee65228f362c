"""Replication-robust Shapley: GTG-Shapley over parties, each party's value shared by its accounts.

Plain Shapley values are not robust to replication: a trainer that submits its update from k
accounts (with small noise, so no hash matches) becomes k players, and in this market's
utility — where every account is one more vote in the mean — gains influence and collects up
to k shares (issue 14: mean share 10 % -> 24 % for a party split in 3). Han, Wooldridge, Rogers,
Ohrimenko, Tschiatschek, "Replication Robust Payoff Allocation in Submodular Cooperative Games"
(IEEE TAI 2022) and Ohrimenko, Tople, Tschiatschek, "Collaborative Machine Learning Markets with
Data-Replication-Robust Payments" (2019) define the property: splitting into replicas must not
raise the party's total payoff.

Here the rule says which accounts are near-copies (``ctx.groups``, from
:mod:`aggregator.rules.similarity_groups`); GTG-Shapley (:mod:`.gtg_shapley`) is run with one
player per group — a group joining a coalition brings all its members' updates — and a group's
value is split equally among its members. A party of k replicas thus earns the value of one
player, whatever k. Axioms kept: efficiency (group values sum to ``v(N) - v(empty)`` within
GTG's truncation) and symmetry among groups; replication robustness for replicas the grouping
catches. Without groups every player is its own group and this is GTG-Shapley.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from fedmarket.errors import AggregationError

from .base import ScoringContext, register
from .gtg_shapley import GTGShapley

__all__ = ["GroupShapley"]


@register("group_shapley")
class GroupShapley(GTGShapley):
    """GTG-Shapley with one player per group of near-copies, its value split equally."""

    def _score(self, ctx: ScoringContext) -> Sequence[float]:
        assert ctx.utility is not None
        utility = ctx.utility
        groups = ctx.groups if ctx.groups is not None else tuple((p,) for p in ctx.players)
        members = sorted(p for g in groups for p in g)
        if members != sorted(ctx.players) or any(not g for g in groups):
            raise AggregationError("group_shapley: groups must partition the players")

        def party_utility(parties: tuple[int, ...]) -> float:
            return utility(tuple(sorted(p for k in parties for p in groups[k])))

        party_ctx = replace(ctx, players=tuple(range(len(groups))), utility=party_utility,
                            groups=None)
        values = super()._score(party_ctx)
        share = {p: values[k] / len(g) for k, g in enumerate(groups) for p in g}
        return [share[p] for p in ctx.players]
