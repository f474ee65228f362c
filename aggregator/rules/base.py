"""The one interface every aggregation rule implements, and the registry of rules by name.

A rule is built from the project spec's parameters (``get("krum")(f=2)``) and called on a
round's updates stacked as ``[N, D]`` with per-trainer weights (sample counts) ``[N]``; it
returns the aggregate ``[D]`` and the indices of the updates it accepted. :meth:`Rule.aggregate`
gives the same plus per-trainer robustness scores for the round result.
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


class Rule(ABC):
    """A robust aggregation rule; subclasses implement :meth:`_aggregate` only."""

    name: ClassVar[str]

    def __call__(
        self, updates: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, list[int]]:
        """Aggregate ``updates`` ``[N, D]`` weighted by ``weights`` ``[N]``."""
        result = self.aggregate(updates, weights)
        return result.aggregate, result.accepted

    def aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        """Like calling the rule, plus per-trainer robustness scores."""
        check_updates(updates, weights)
        return self._aggregate(updates, weights)

    @abstractmethod
    def _aggregate(self, updates: torch.Tensor, weights: torch.Tensor) -> RuleResult:
        """Compute the rule on checked inputs."""

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
