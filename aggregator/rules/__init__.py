"""Robust aggregation rules, one module each, registered by name.

>>> from aggregator import rules
>>> rule = rules.get("multi_krum")(f=2)
>>> aggregate, accepted = rule(updates, weights)   # updates [N, D], weights [N]

Registered: ``fedavg``, ``krum``, ``multi_krum``, ``median``, ``trimmed_mean``, ``bulyan``,
``centered_clip``, ``norm_bound``, ``foolsgold``. Shared math lives in
:mod:`aggregator.rules.distances`.
"""

from . import (  # noqa: F401  (importing registers the rules)
    bulyan,
    centered_clip,
    fedavg,
    foolsgold,
    krum,
    median,
    multi_krum,
    norm_bound,
    trimmed_mean,
)
from .base import Rule, RuleResult, get, names, register

__all__ = ["Rule", "RuleResult", "get", "names", "register"]
