"""The spec's optional ``lora`` section: fine-tune a posted base model through low-rank adapters.

LoRA (Hu et al., ICLR 2022) freezes a pre-trained weight ``W [out, in]`` and learns
``W + (alpha / r) · B @ A`` with ``A [r, in]`` and ``B [out, r]``. With a ``lora`` section the
tensors that flow through the market — updates, global models, the aggregator's ``[N, D]`` —
are the adapters alone; the base weights are a model file of the declared arch stored by CID,
and that CID is in the spec, so the spec hash covers the base (a content address names its
bytes).

Which weights get adapters: every 2-D tensor of the base (Linear weights, the transformer's
token and position embeddings). Merging is a plain matrix sum, exact for any 2-D tensor, so one
rule covers all three architectures without naming layers; these tensors hold nearly all of an
MLP's or transformer's parameters. Biases, norms and 4-D conv kernels stay frozen: they are
small (biases, norms) or not matrices (a conv kernel would need a reshape convention every role
must share, for little gain on the CNNs we target).

No torch here: the aggregator and verifiers derive shapes from the spec alone
(:mod:`fedmarket.lora` builds and merges the tensors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedmarket.errors import ConfigError
from fedmarket.spec_checks import finite, positive_int, section

__all__ = ["LoraSpec", "adapter_shapes", "lora_targets", "ADAPTER_A", "ADAPTER_B"]

# Suffixes of the adapter tensors of a base weight ``name``: ``name.lora_A``, ``name.lora_B``.
ADAPTER_A = ".lora_A"
ADAPTER_B = ".lora_B"


@dataclass(frozen=True)
class LoraSpec:
    """Rank, scale and base model of a LoRA fine-tuning project."""

    base_weights_cid: str  # the owner's pre-trained weights of the declared arch (a model file)
    rank: int = 4  # r; small ranks suffice for adapting a classifier (Hu et al. use 1-8)
    alpha: float = 8.0  # the merge scales B @ A by alpha / r, so lr need not change with r

    def __post_init__(self) -> None:
        # JSON writes 8 and 8.0 differently; store a float so equal specs hash equally.
        if isinstance(self.alpha, int) and not isinstance(self.alpha, bool):
            object.__setattr__(self, "alpha", float(self.alpha))
        self.validate()

    @property
    def scale(self) -> float:
        """The factor alpha / r of ``B @ A`` in the merged weight."""
        return self.alpha / self.rank

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        if not isinstance(self.base_weights_cid, str) or not self.base_weights_cid.strip():
            raise ConfigError("lora.base_weights_cid must name the stored base weights")
        positive_int("lora.rank", self.rank)
        finite("lora.alpha", self.alpha, positive=True)

    def to_dict(self) -> dict[str, Any]:
        """The spec JSON's ``lora`` section."""
        return {"alpha": self.alpha, "base_weights_cid": self.base_weights_cid,
                "rank": self.rank}

    @classmethod
    def from_dict(cls, value: Any) -> LoraSpec:
        """Parse the ``lora`` section; unknown keys are errors."""
        body = section("lora", value, ("alpha", "base_weights_cid", "rank"))
        if "base_weights_cid" not in body:
            raise ConfigError("lora is missing required field(s) ['base_weights_cid']")
        return cls(**body)


def lora_targets(base_shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """The base tensors that get adapters: every 2-D one, in sorted-name order."""
    return [name for name in sorted(base_shapes) if len(base_shapes[name]) == 2]


def adapter_shapes(base_shapes: Mapping[str, tuple[int, ...]],
                   rank: int) -> dict[str, tuple[int, ...]]:
    """Name → shape of the adapters (``A [r, in]``, ``B [out, r]``), in sorted-name order."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name in lora_targets(base_shapes):
        out, inp = base_shapes[name]
        shapes[name + ADAPTER_A] = (rank, inp)
        shapes[name + ADAPTER_B] = (out, rank)
    if not shapes:
        raise ConfigError("lora needs a 2-D weight in the model to adapt; this arch has none")
    return dict(sorted(shapes.items()))
