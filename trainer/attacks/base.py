"""The one interface every simulated adversary implements.

An attack sees what an honest trainer would submit and turns it into what a malicious one
submits: :meth:`Attack.apply` maps the honest delta (a name → tensor dict, the local model minus
the round's global model) plus an :class:`AttackContext` to the poisoned delta. Data-poisoning
attacks (label flipping) instead override :meth:`Attack.poison_data`, which training calls on
the attacker's data before the honest procedure runs. Attacks that do not need the honest delta
at all (free-riding, copying) set ``trains = False`` so no time is spent training.

Some attacks use the honest updates of other trainers (ALIE, IPM). A simulator passes those it
wants the attacker to see in ``context.peer_deltas`` (the omniscient setting of the papers);
a real attacker sees none, and then :meth:`AttackContext.honest_samples` falls back to an
estimate: ``context.estimate_peers(k)``, provided by local training, trains ``k`` honest deltas
on disjoint shards of the attacker's own data (the papers' non-omniscient variant).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from fedmarket.datasets import Dataset

__all__ = ["Attack", "AttackContext", "Delta"]

Delta = dict[str, torch.Tensor]


@dataclass
class AttackContext:
    """What an attacker knows in a round beyond its own honest delta."""

    # The round's global model (name -> tensor); free-riders copy it.
    global_weights: Mapping[str, torch.Tensor] | None = None
    # Honest deltas of other trainers the simulator lets the attacker see (may be empty).
    peer_deltas: Sequence[Mapping[str, torch.Tensor]] = field(default_factory=list)
    # Bytes of another trainer's revealed update (codec format), for the copycat.
    revealed_update: bytes | None = None
    # Trains k honest deltas on shards of the attacker's own data when no peers are visible.
    estimate_peers: Callable[[int], list[Delta]] | None = None
    num_classes: int | None = None
    # Trainers in the round and how many of them collude (ALIE's z from n and f).
    num_trainers: int | None = None
    num_malicious: int | None = None
    seed: int = 0

    def honest_samples(self, k: int = 4) -> list[Delta]:
        """Peers' honest deltas if visible, else ``k`` estimates trained on own-data shards."""
        if self.peer_deltas:
            return [dict(d) for d in self.peer_deltas]
        if self.estimate_peers is None:
            raise ValueError(
                "this attack needs peers' honest deltas (context.peer_deltas) or a way to "
                "estimate them (context.estimate_peers); neither was given"
            )
        return self.estimate_peers(k)


class Attack(ABC):
    """A simulated adversary, registered by ``name`` in :mod:`trainer.attacks`."""

    name: ClassVar[str]
    # False when the attack ignores the honest delta, so training can be skipped.
    trains: ClassVar[bool] = True

    def poison_data(self, data: Dataset, context: AttackContext) -> Dataset:
        """Data the attacker trains on; honest by default."""
        return data

    @abstractmethod
    def apply(self, honest_delta: Mapping[str, torch.Tensor], context: AttackContext) -> Delta:
        """The delta the attacker submits instead of ``honest_delta``."""

    def params(self) -> dict[str, Any]:
        """The attack's parameters, for reports."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def stack(deltas: Sequence[Mapping[str, torch.Tensor]], name: str) -> torch.Tensor:
    """``[k, *shape]`` stack of one tensor across deltas, float64 for stable statistics."""
    return torch.stack([d[name].to(torch.float64) for d in deltas])
