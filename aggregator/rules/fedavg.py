"""FedAvg: the sample-weighted mean of all updates.

McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-Efficient Learning of Deep
Networks from Decentralized Data", AISTATS 2017. Not robust: one bad update moves the mean
arbitrarily; it is the baseline the robust rules are measured against.
"""

from __future__ import annotations

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, register
from .chunks import all_finite
from .distances import weighted_mean

__all__ = ["FedAvg"]


@register("fedavg")
class FedAvg(Rule):
    """``sum_i n_i x_i / sum_i n_i``, accumulated in float64; accepts every update."""

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        aggregate = weighted_mean(updates, weights)
        if not all_finite(aggregate):
            raise AggregationError("updates must be finite (non-finite values found)")
        return RuleResult(aggregate, list(range(updates.shape[0])))
