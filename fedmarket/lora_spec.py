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

Federated averaging of A and B separately is not the average of the products B_i @ A_i, and
measured on the fine-tuning example it undoes most of what each trainer learned (one trainer's
adapters: 0.82 validation accuracy; the mean of five: 0.55). ``freeze_a`` is FFA-LoRA (Sun et
al., "Improving LoRA in Privacy-preserving Federated Learning", ICLR 2024): A stays at its seeded
initialisation in every role, only B is trained and moves through the market, so the mean of the
B_i is exactly the mean of the weight changes — and the update halves again.

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
    freeze_a: bool = False  # FFA-LoRA: A fixed at its seeded init; only B trained and moved

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
        if not isinstance(self.freeze_a, bool):
            raise ConfigError(f"lora.freeze_a must be true or false, got {self.freeze_a!r}")
        finite("lora.alpha", self.alpha, positive=True)

    def to_dict(self) -> dict[str, Any]:
        """The spec JSON's ``lora`` section."""
        data: dict[str, Any] = {"alpha": self.alpha, "base_weights_cid": self.base_weights_cid,
                                "rank": self.rank}
        if self.freeze_a:  # written only when set, so plain LoRA specs keep their bytes
            data["freeze_a"] = True
        return data

    @classmethod
    def from_dict(cls, value: Any) -> LoraSpec:
        """Parse the ``lora`` section; unknown keys are errors."""
        body = section("lora", value, ("alpha", "base_weights_cid", "freeze_a", "rank"))
        if "base_weights_cid" not in body:
            raise ConfigError("lora is missing required field(s) ['base_weights_cid']")
        return cls(**body)


def lora_targets(base_shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """The base tensors that get adapters: every 2-D one, in sorted-name order."""
    return [name for name in sorted(base_shapes) if len(base_shapes[name]) == 2]


def adapter_shapes(base_shapes: Mapping[str, tuple[int, ...]], rank: int,
                   freeze_a: bool = False) -> dict[str, tuple[int, ...]]:
    """Name → shape of the adapters (``A [r, in]``, ``B [out, r]``), in sorted-name order.

    With ``freeze_a`` only the B tensors: the A tensors are not trained and never move.
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for name in lora_targets(base_shapes):
        out, inp = base_shapes[name]
        if not freeze_a:
            shapes[name + ADAPTER_A] = (rank, inp)
        shapes[name + ADAPTER_B] = (out, rank)
    if not shapes:
        raise ConfigError("lora needs a 2-D weight in the model to adapt; this arch has none")
    return dict(sorted(shapes.items()))
