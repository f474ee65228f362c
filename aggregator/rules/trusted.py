"""The default rule with validation data: FLTrust trust, norms rescaled, near-copies one vote.

Combines two published defences, each in its own module, on what the owner has and most
robust-FL settings lack — clean validation data:

1. :mod:`.fltrust` (Cao et al., NDSS 2021): a reference update ``g0`` trained by the aggregator on
   the validation data; trust ``TS_i = ReLU(cos(g_i, g0))`` (updates below ``min_cosine`` get 0)
   and every update rescaled to ``|g0|``, so the length of an update (more data, more local
   steps, or a boost) neither raises suspicion nor buys influence.
2. :mod:`.similarity_groups` (the idea of FoolsGold, Fung et al., RAID 2020): updates with cosine
   ``>= group_threshold`` to another are one party. With ``replicas="reject"`` (the default)
   every member of a group of several is rejected: honest trainers with their own data do not
   send near-copies (measured on digits: pairwise cosine at most 0.70 IID, 0.55 non-IID), while
   one party behind several accounts and colluders sending one crafted vector with per-account
   noise (Min-Max, Min-Sum, Fang, built from the honest updates and so valued like their mean
   if let in) do. Splitting into near-copies then forfeits the reward instead of multiplying it,
   and the honest are valued without the copies of their own mean. With ``"one_vote"`` the
   group shares one vote instead, each member weighted ``TS_i / k`` (and ``group_shapley``
   splits one player's value among them).

``aggregate = sum_i w_i s_i g_i / sum_i w_i`` with ``w_i = TS_i / |group(i)|`` and
``s_i = |g0| / |g_i|``. Accepted: ``w_i > 0``. Declared sample counts are not used: they are the
trainer's own claim and would buy influence for free (issue 14). Threat model: any minority or
majority of trainers colluding with full knowledge of the honest updates, not knowing the
owner's validation data; the reference must be better than random (it is trained on the same
task). Recorded per trainer: ``ref_cosine``, ``norm``, ``scale``, ``trust``, ``max_cosine``,
``group_size``, ``weight`` — with the reference's norm, everything that decides acceptance and
weights (the group links are the pairwise cosines above the threshold).
"""

from __future__ import annotations

import math

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, float_param, register
from .distances import check_finite
from .fltrust import norm_scales, reference_cosines, relu_trust, weighted_scaled_mean
from .similarity_groups import pairwise_cosines, similarity_groups

__all__ = ["Trusted", "REPLICA_POLICIES"]

REPLICA_POLICIES = ("reject", "one_vote")


@register("trusted")
class Trusted(Rule):
    """FLTrust with norm rescaling and one vote per group of near-copies."""

    needs_reference = True

    def __init__(self, group_threshold: float = 0.9, min_cosine: float = 0.0,
                 replicas: str = "reject", noise_sigmas: float = 3.0) -> None:
        """Build the rule.

        ``group_threshold``: cosine from which two updates are one party (honest pairs measured
        at most 0.70; copies with small noise above 0.99). ``min_cosine``: trust is 0 at or
        below this cosine to the reference (FLTrust's ReLU: 0). ``replicas``: ``"reject"``
        groups of several updates, or give each group ``"one_vote"``. ``noise_sigmas``: trust
        is also 0 at or below ``noise_sigmas / sqrt(D)``: the cosine of a random direction to
        the reference has standard deviation ``1 / sqrt(D)``, so pure noise (Gaussian attack,
        measured 1-2 % of the rewards with ReLU alone) passes 3 sigmas about once in 740
        updates, while honest updates sat at 0.11 and above (D = 4810, threshold 0.043).
        """
        self.noise_sigmas = float_param("trusted", "noise_sigmas", noise_sigmas, 0.0,
                                        float("inf"))
        if replicas not in REPLICA_POLICIES:
            raise AggregationError(f"trusted: replicas must be one of {REPLICA_POLICIES}, "
                                   f"got {replicas!r}")
        self.replicas = replicas
        self.group_threshold = float_param("trusted", "group_threshold", group_threshold,
                                           0.0, 1.0 + 1e-9, inclusive_low=False)
        self.min_cosine = float_param("trusted", "min_cosine", min_cosine, -1.0, 1.0)

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        raise AggregationError("trusted needs a reference update")  # aggregate() routes around

    def _aggregate_referenced(self, updates: torch.Tensor, weights: torch.Tensor,
                              reference: torch.Tensor) -> RuleResult:
        check_finite(updates)
        n = updates.shape[0]
        cos, norms = reference_cosines(updates, reference)
        scales = norm_scales(norms, float(reference.double().norm()))
        floor = max(self.min_cosine, self.noise_sigmas / math.sqrt(updates.shape[1]))
        trust = [t if c > floor else 0.0 for t, c in zip(relu_trust(cos), cos, strict=True)]
        groups, largest = similarity_groups(pairwise_cosines(updates), self.group_threshold)
        size = [0] * n
        for group in groups:
            for i in group:
                size[i] = len(group)
        keep = [scales[i] > 0 and (size[i] == 1 or self.replicas == "one_vote") for i in range(n)]
        weight = [trust[i] / size[i] if keep[i] else 0.0 for i in range(n)]
        accepted = [i for i in range(n) if weight[i] > 0.0]
        if not accepted:
            raise AggregationError("trusted: no update points the reference's way (all trust 0)")
        aggregate = weighted_scaled_mean(updates, weight, scales, accepted)
        scores = {"ref_cosine": cos, "norm": norms, "scale": scales, "trust": trust,
                  "max_cosine": largest, "group_size": [float(s) for s in size],
                  "weight": weight}
        return RuleResult(aggregate, accepted, scores, weights=weight, scales=scales,
                          groups=groups)
