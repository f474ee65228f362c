"""Robust aggregation rules, one module each, registered by name.

>>> from aggregator import rules
>>> rule = rules.get("multi_krum")(f=2)
>>> aggregate, accepted = rule(updates, weights)   # updates [N, D], weights [N]

Registered: ``fedavg``, ``krum``, ``multi_krum``, ``median``, ``trimmed_mean``, ``bulyan``,
``centered_clip``, ``norm_bound``, ``foolsgold``; with a reference update trained on the owner's
validation data, ``fltrust`` and ``trusted`` (the default when the owner has validation data).
Shared math lives in :mod:`aggregator.rules.distances`.
"""

from . import (  # noqa: F401  (importing registers the rules)
    bulyan,
    centered_clip,
    fedavg,
    fltrust,
    foolsgold,
    krum,
    median,
    multi_krum,
    norm_bound,
    trimmed_mean,
    trusted,
)
from .base import Rule, RuleResult, get, names, register

__all__ = ["Rule", "RuleResult", "get", "names", "register"]
