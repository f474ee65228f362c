"""Contribution scorers, one module each, registered by name.

>>> from aggregator import contribution
>>> scorer = contribution.get("gtg_shapley")()
>>> scores = scorer(ScoringContext(players=(0, 2, 3), seed=seed, utility=v))

Registered: ``gtg_shapley``, ``group_shapley`` (replication-robust: one player per group of
near-copies), ``leave_one_out``, ``cosine`` (validation-free).
"""

from . import cosine, group_shapley, gtg_shapley, leave_one_out  # noqa: F401  (importing registers them)
from .base import (
    CachedUtility,
    Scorer,
    ScoringContext,
    SeededRng,
    Utility,
    ValidationSource,
    derive_seed,
    get,
    names,
    register,
)

__all__ = [
    "CachedUtility",
    "Scorer",
    "ScoringContext",
    "SeededRng",
    "Utility",
    "ValidationSource",
    "derive_seed",
    "get",
    "names",
    "register",
]
