"""The one interface every contribution scorer implements, the registry, and seeding.

A scorer values each *player* (an update the rule accepted) for one round. It gets a
:class:`ScoringContext` and returns one float per player, in player order. Scorers that need
validation data take an injected utility ``v(subset) -> float`` (validation accuracy, or negative
loss, of the global model plus the aggregate of that subset's updates); the scorer never sees
models, so it is testable on toy games. Randomised scorers draw only from :class:`SeededRng`,
seeded by :func:`derive_seed` from the round, so anyone re-running the round gets the same scores.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import torch
from eth_abi import encode
from eth_utils import keccak

from fedmarket.errors import AggregationError

__all__ = [
    "Utility",
    "ValidationSource",
    "ScoringContext",
    "Scorer",
    "register",
    "get",
    "names",
    "derive_seed",
    "SeededRng",
    "CachedUtility",
]

#: ``v(S)``: the value of a coalition, given as a sorted tuple of player ids.
Utility = Callable[[tuple[int, ...]], float]


@runtime_checkable
class ValidationSource(Protocol):
    """A utility backed by the owner's validation data, which can also train a reference.

    Rules that need a reference update (FLTrust) get it from here; rules that weigh updates
    themselves get a utility valuing coalitions by their weights (:mod:`aggregator.utility`).
    """

    def __call__(self, subset: tuple[int, ...]) -> float:
        """v(subset)."""

    def reference_update(self, seed: int) -> torch.Tensor:
        """A delta ``[D]`` trained on the validation data from the round's global model."""

    def reweighted(self, weights: Sequence[float], scales: Sequence[float]) -> Utility:
        """v(S) by ``sum_{i in S} w_i s_i x_i / sum_{i in S} w_i`` instead."""

    def class_accuracies(self, delta: torch.Tensor) -> list[float]:
        """Per-class validation accuracy of the global model plus ``delta`` ``[D]``."""


@dataclass(frozen=True)
class ScoringContext:
    """Everything a scorer may use for one round.

    ``players`` are row indices into ``updates`` (the round's trainer indices) of the accepted
    updates; ``utility`` takes sorted tuples of those same ids. ``aggregate`` is the rule's output.
    ``groups`` partitions the players into parties the rule found to be near-copies of each
    other (None: every player its own party); replication-robust scorers value parties.
    """

    players: tuple[int, ...]
    seed: int
    updates: torch.Tensor | None = None
    aggregate: torch.Tensor | None = None
    utility: Utility | None = None
    groups: tuple[tuple[int, ...], ...] | None = None


class Scorer(ABC):
    """A contribution scorer; subclasses implement :meth:`_score`."""

    name: ClassVar[str]
    needs_utility: ClassVar[bool] = True

    def __call__(self, ctx: ScoringContext) -> list[float]:
        """Return one score per player of ``ctx``, in the order of ``ctx.players``."""
        if len(set(ctx.players)) != len(ctx.players):
            raise AggregationError(f"{self.name}: players must be distinct")
        if self.needs_utility and ctx.utility is None:
            raise AggregationError(f"{self.name} needs a utility function (validation data)")
        if not ctx.players:
            return []
        return [float(s) for s in self._score(ctx)]

    @abstractmethod
    def _score(self, ctx: ScoringContext) -> Sequence[float]:
        """Score checked inputs."""

    def params(self) -> dict[str, Any]:
        """Return the parameters this scorer was built with."""
        return dict(vars(self))


_S = TypeVar("_S", bound=type[Scorer])
_REGISTRY: dict[str, type[Scorer]] = {}


def register(name: str) -> Callable[[_S], _S]:
    """Class decorator registering a scorer under ``name``."""

    def wrap(cls: _S) -> _S:
        if name in _REGISTRY:
            raise ValueError(f"scorer {name!r} registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def get(name: str) -> type[Scorer]:
    """Return the scorer class registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise AggregationError(f"unknown contribution scorer {name!r} (known: {known})") from None


def names() -> list[str]:
    """Return the registered scorer names, sorted."""
    return sorted(_REGISTRY)


def derive_seed(project: int, round_: int, inputs_hash: bytes) -> int:
    """Return the round's scoring seed: ``keccak256(abi.encode(project, round, inputs_hash))``.

    ``inputs_hash`` is a 32-byte commitment to the round's inputs (see
    :func:`aggregator.round.inputs_hash`). The seed is the hash read as a big-endian uint256.
    """
    if len(inputs_hash) != 32:
        raise AggregationError(f"inputs_hash must be 32 bytes, got {len(inputs_hash)}")
    digest = keccak(encode(["uint256", "uint256", "bytes32"], [project, round_, inputs_hash]))
    return int.from_bytes(digest, "big")


class SeededRng:
    """A tiny, fully specified random stream: SHA-256 of ``seed || counter`` (both uint256 BE).

    Used instead of a library generator so the stream never changes across library versions and
    can be re-implemented anywhere. ``below(k)`` draws uniformly by rejection sampling.
    """

    def __init__(self, seed: int):
        self._seed = seed.to_bytes(32, "big")
        self._counter = 0

    def _next64(self) -> int:
        block = hashlib.sha256(self._seed + self._counter.to_bytes(32, "big")).digest()
        self._counter += 1
        return int.from_bytes(block[:8], "big")

    def below(self, k: int) -> int:
        """Return a uniform integer in ``[0, k)``."""
        if k <= 0:
            raise ValueError("k must be positive")
        limit = (1 << 64) - ((1 << 64) % k)
        while True:
            x = self._next64()
            if x < limit:
                return x % k

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle ``items`` in place (Fisher-Yates, from the last position down)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


class CachedUtility:
    """Memoise ``v(S)`` by coalition; counts distinct evaluations (the expensive part)."""

    def __init__(self, utility: Utility):
        self._utility = utility
        self._cache: dict[tuple[int, ...], float] = {}

    def __call__(self, subset: Sequence[int]) -> float:
        """Return ``v(sorted(subset))``, evaluating it at most once."""
        key = tuple(sorted(subset))
        if key not in self._cache:
            value = float(self._utility(key))
            if value != value or value in (float("inf"), float("-inf")):
                raise AggregationError(f"utility returned a non-finite value for {key}")
            self._cache[key] = value
        return self._cache[key]

    @property
    def evaluations(self) -> int:
        """Return how many distinct coalitions were evaluated."""
        return len(self._cache)
