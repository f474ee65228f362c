"""FLTrust: trust each update by its direction relative to a reference the server trained itself.

Cao, Fang, Liu, Gong, "FLTrust: Byzantine-robust Federated Learning via Trust Bootstrapping",
NDSS 2021. Threat model: any number of trainers send arbitrary updates, possibly colluding with
full knowledge of the honest ones; the server holds a small clean root dataset (here the owner's
validation data) and trains a reference update ``g0`` on it each round (see
:mod:`aggregator.reference`). Each update ``g_i`` gets the trust score
``TS_i = ReLU(cos(g_i, g0))`` and is rescaled to the reference's norm, so neither its length nor
the sample count its trainer declares buys influence:

    aggregate = sum_i TS_i * (|g0| / |g_i|) * g_i / sum_i TS_i

Rescaling also means a trainer with a large shard (more local steps, a longer update) is not an
outlier, as it is for distance rules like Krum (issue 14: Multi-Krum rejected every 4x shard).
Declared sample counts are ignored. Everything decided is a function of the per-trainer cosine
and norm recorded in the result (``ref_cosine``, ``norm``, ``scale``, ``trust``), plus the
reference's norm, so it can be committed and re-checked.
"""

from __future__ import annotations

import torch

from fedmarket.errors import AggregationError

from .base import Rule, RuleResult, register
from .distances import check_finite, row_dots, row_sq_norms, weighted_sum

__all__ = ["FLTrust", "reference_cosines", "norm_scales", "relu_trust", "weighted_scaled_mean"]

_TINY = 1e-30


def reference_cosines(updates: torch.Tensor, reference: torch.Tensor) -> tuple[list[float],
                                                                             list[float]]:
    """Return per update ``(cos(x_i, reference), |x_i|)``; a zero row has cosine 0."""
    norms = row_sq_norms(updates).sqrt()
    ref_norm = float(reference.double().norm())
    dots = row_dots(updates, reference)
    cos = [float(d) / (float(n) * ref_norm) if float(n) * ref_norm > _TINY else 0.0
           for d, n in zip(dots, norms, strict=True)]
    return [max(-1.0, min(1.0, c)) for c in cos], [float(n) for n in norms]


def norm_scales(norms: list[float], reference_norm: float) -> list[float]:
    """Factors bringing each update to the reference's norm (0 for a zero update)."""
    return [reference_norm / n if n > _TINY else 0.0 for n in norms]


def relu_trust(cosines: list[float]) -> list[float]:
    """FLTrust's trust score ``max(0, cos)``: an update pointing away from the reference gets 0."""
    return [max(0.0, c) for c in cosines]


def weighted_scaled_mean(updates: torch.Tensor, weights: list[float], scales: list[float],
                         rows: list[int] | None = None) -> torch.Tensor:
    """``sum_i w_i s_i x_i / sum_i w_i`` over ``rows`` (all if None) in the updates' dtype."""
    idx = list(range(updates.shape[0])) if rows is None else list(rows)
    total = sum(weights[i] for i in idx)
    if not idx or total <= 0:
        raise AggregationError("a weighted mean needs rows with a positive total weight")
    coef = torch.tensor([weights[i] * scales[i] / total for i in idx], dtype=torch.float64)
    return weighted_sum(updates, coef, idx)


@register("fltrust")
class FLTrust(Rule):
    """FLTrust as in the paper: ReLU-cosine trust to the reference, norms rescaled to it."""

    needs_reference = True

    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        raise AggregationError("fltrust needs a reference update")  # aggregate() routes around

    def _aggregate_referenced(self, updates: torch.Tensor, weights: torch.Tensor,
                              reference: torch.Tensor) -> RuleResult:
        check_finite(updates)
        cos, norms = reference_cosines(updates, reference)
        scales = norm_scales(norms, float(reference.double().norm()))
        trust = relu_trust(cos)
        accepted = [i for i, t in enumerate(trust) if t > 0.0 and scales[i] > 0.0]
        if not accepted:
            raise AggregationError("fltrust: no update points the reference's way (all trust 0)")
        aggregate = weighted_scaled_mean(updates, trust, scales, accepted)
        n = updates.shape[0]
        return RuleResult(aggregate, accepted,
                          {"ref_cosine": cos, "norm": norms, "scale": scales, "trust": trust},
                          weights=trust, scales=scales, groups=[[i] for i in range(n)])
