"""The one interface every aggregation rule implements, and the registry of rules by name.

A rule is built from the project spec's parameters (``get("krum")(f=2)``) and called on a
round's updates stacked as ``[N, D]`` with per-trainer weights (sample counts) ``[N]``; it
returns the aggregate ``[D]`` and the indices of the updates it accepted. :meth:`Rule.aggregate`
gives the same plus per-trainer robustness scores for the round result.

Rules that set ``needs_reference`` also take a *reference update* ``[D]``: a delta the aggregator
trained itself on the owner's clean validation data (FLTrust's root dataset, see
:mod:`aggregator.reference`). They implement :meth:`Rule._aggregate_referenced` instead.
A rule whose aggregate is ``sum_i w_i s_i x_i / sum_i w_i`` (a weighted mean of rescaled
updates) reports ``weights`` ``w`` and ``scales`` ``s`` in its result, and ``groups`` of updates
it treats as one party; scoring then values coalitions the same way (not by the sample counts
trainers declare), and the validation filter can drop an update from that mean.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import torch

from fedmarket.errors import AggregationError

from .distances import check_updates

__all__ = ["Rule", "RuleResult", "register", "get", "names", "int_param", "float_param"]


@dataclass(frozen=True)
class RuleResult:
    """What a rule returns: the aggregate, the accepted indices, per-trainer scores.

    ``scores`` maps a score name (``"krum_score"``, ``"clip_factor"``) to one float per input
    update (length N); rules without such a measure return an empty dict.
    """

    aggregate: torch.Tensor
    accepted: list[int]
    scores: dict[str, list[float]] = field(default_factory=dict)
    # For weighted means of rescaled updates: per input update its weight and scale factor
    # (aggregate = sum w_i s_i x_i / sum w_i), and the updates taken as one party (each group a
    # sorted list of input indices; every input in exactly one group). None for other rules.
    weights: list[float] | None = None
    scales: list[float] | None = None
    groups: list[list[int]] | None = None
    # Groups the rule dropped as rivals of the majority (each sorted input indices), with the
    # weight each member had before (scores["weight_before_rivals"]); the round computation may
    # readmit a group the validation data shows to carry a class (aggregator.rival_check).
    rivals: list[list[int]] | None = None


class Rule(ABC):
    """A robust aggregation rule; subclasses implement :meth:`_aggregate` only."""

    name: ClassVar[str]
    # True for rules that need a reference update trained on the owner's validation data.
    needs_reference: ClassVar[bool] = False

    def __call__(
        self, updates: torch.Tensor, weights: torch.Tensor, *,
        reference: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[int]]:
        """Aggregate ``updates`` ``[N, D]`` weighted by ``weights`` ``[N]``."""
        result = self.aggregate(updates, weights, reference=reference)
        return result.aggregate, result.accepted

    def aggregate(self, updates: torch.Tensor, weights: torch.Tensor, *,
                  reference: torch.Tensor | None = None) -> RuleResult:
        """Like calling the rule, plus per-trainer robustness scores.

        ``reference`` is required by (and only given to) rules with ``needs_reference``.
        """
        check_updates(updates, weights)
        if not self.needs_reference:
            return self._aggregate(updates, weights)
        if reference is None:
            raise AggregationError(f"{self.name} needs a reference update trained on the "
                                   "owner's validation data; the project has none")
        if reference.shape != (updates.shape[1],) or not bool(torch.isfinite(reference).all()):
            raise AggregationError(f"{self.name}: the reference update must be a finite "
                                   f"vector of shape [{updates.shape[1]}]")
        return self._aggregate_referenced(updates, weights, reference)

    @abstractmethod
    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        """Compute the rule on checked inputs."""

    def _aggregate_referenced(self, updates: torch.Tensor, weights: torch.Tensor,
                              reference: torch.Tensor) -> RuleResult:
        """Compute a ``needs_reference`` rule on checked inputs and a checked reference."""
        raise NotImplementedError(f"{self.name} takes no reference update")

    def params(self) -> dict[str, Any]:
        """Return the parameters this rule was built with (as recorded in the round result)."""
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params().items()))
        return f"{type(self).__name__}({args})"


_R = TypeVar("_R", bound=type[Rule])
_REGISTRY: dict[str, type[Rule]] = {}


def register(name: str) -> Callable[[_R], _R]:
    """Class decorator registering a rule under ``name``."""

    def wrap(cls: _R) -> _R:
        if name in _REGISTRY:
            raise ValueError(f"rule {name!r} registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def get(name: str) -> type[Rule]:
    """Return the rule class registered as ``name``; call it with the rule's parameters."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise AggregationError(f"unknown aggregation rule {name!r} (known: {known})") from None


def names() -> list[str]:
    """Return the registered rule names, sorted."""
    return sorted(_REGISTRY)


def int_param(rule: str, name: str, value: Any, minimum: int = 0) -> int:
    """Check that a rule parameter is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise AggregationError(f"{rule}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def float_param(
    rule: str, name: str, value: Any, low: float, high: float, *, inclusive_low: bool = True
) -> float:
    """Check that a rule parameter is a finite number in ``[low, high)`` (or ``(low, high)``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        value = float(value)
        above = value >= low if inclusive_low else value > low
        ok = math.isfinite(value) and value < high and above
    if not ok:
        bracket = "[" if inclusive_low else "("
        raise AggregationError(
            f"{rule}: {name} must be a number in {bracket}{low}, {high}), got {value!r}"
        )
    return float(value)
