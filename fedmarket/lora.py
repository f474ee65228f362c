"""LoRA adapters of our own: initialise, merge into the base, train with the base frozen.

For a spec with a ``lora`` section (:mod:`fedmarket.lora_spec`) the market's tensors are the
adapters; every role that runs the model merges them into the project's base weights first:
``W' = W + (alpha / r) · B @ A`` for each adapted 2-D tensor, every other tensor as in the base.
Merging in float32 in one fixed order makes the same adapters give the same model in every
role. ``peft`` is not used: it wraps modules (its tensor names and shapes follow its own
layers), while the codec only needs plain named tensors, and merging is a few lines.

The base weights come from the store: :func:`fedmarket.protocol.load_spec` fetches and decodes
them once per base CID and :func:`register_base` keeps them here, so code that only holds a
spec (evaluation, the validation utility, the reference training) finds them with
:func:`base_weights`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn
from torch.func import functional_call

from fedmarket.codec import check_tensors
from fedmarket.errors import CodecError, ConfigError
from fedmarket.lora_spec import ADAPTER_A, ADAPTER_B, lora_targets
from fedmarket.modelspec import ModelSpec

__all__ = ["init_adapters", "initial_a", "merge", "full_weights", "register_base", "base_weights",
           "check_base", "LoraModel"]

_BASES: dict[str, dict[str, torch.Tensor]] = {}


def check_base(spec: ModelSpec, weights: Mapping[str, torch.Tensor]) -> None:
    """Raise :class:`ConfigError` in one line unless ``weights`` are the spec's base model."""
    try:
        check_tensors("lora base weights", weights, spec.base_shapes())
    except CodecError as exc:
        raise ConfigError(f"the LoRA base weights do not fit the spec's {spec.model} arch: "
                          f"{str(exc).splitlines()[0]}") from exc


def register_base(spec: ModelSpec, weights: Mapping[str, torch.Tensor]) -> None:
    """Keep the base weights of ``spec`` (checked against its arch) under their CID."""
    if spec.lora is None:
        raise ConfigError("this spec has no lora section, so it has no base weights")
    check_base(spec, weights)
    _BASES[spec.lora.base_weights_cid] = {
        name: weights[name].detach().to("cpu", torch.float32).clone() for name in sorted(weights)}


def base_weights(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """The registered base of a LoRA spec (load the spec with ``protocol.load_spec`` first)."""
    if spec.lora is None:
        raise ConfigError("this spec has no lora section, so it has no base weights")
    cid = spec.lora.base_weights_cid
    if cid not in _BASES:
        raise ConfigError(f"the LoRA base weights {cid} are not loaded: load the spec with "
                          "fedmarket.protocol.load_spec (it fetches them from the store)")
    base = _BASES[cid]
    # Keyed by CID alone, so another project's spec may name the same file for another arch.
    if {name: tuple(t.shape) for name, t in base.items()} != spec.base_shapes():
        raise ConfigError(f"the LoRA base weights {cid} do not fit the spec's {spec.model} arch")
    return base


def initial_a(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """Every A at round 0: U(±1/sqrt(in)), drawn in sorted-name order from spec.seed.

    Drawn the same way with or without ``freeze_a``, so a frozen A is the A a plain LoRA
    project would have started from.
    """
    if spec.lora is None:
        raise ConfigError("this spec has no lora section, so it has no adapters")
    generator = torch.Generator().manual_seed(spec.seed)
    shapes = spec.base_shapes()
    out: dict[str, torch.Tensor] = {}
    for name in lora_targets(shapes):
        inp = shapes[name][1]
        bound = 1.0 / inp ** 0.5  # keeps B @ A x of unit scale once B has learned
        out[name + ADAPTER_A] = (torch.rand((spec.lora.rank, inp), generator=generator) * 2
                                 - 1) * bound
    return out


def init_adapters(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """Round-0 adapters: the seeded A (unless frozen) and B = 0, so the merged model = base."""
    a = initial_a(spec)
    return {name: a[name] if name in a else torch.zeros(shape)
            for name, shape in spec.param_shapes().items()}


def merge(spec: ModelSpec, base: Mapping[str, torch.Tensor],
          adapters: Mapping[str, torch.Tensor],
          frozen_a: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The full weights ``W + (alpha / r) · B @ A`` (differentiable in the adapters).

    With ``freeze_a`` the A tensors are :func:`initial_a` (``frozen_a``: computed already).
    """
    assert spec.lora is not None
    if spec.lora.freeze_a:
        adapters = {**(frozen_a if frozen_a is not None else initial_a(spec)), **adapters}
    merged = dict(base)
    for name in lora_targets(spec.base_shapes()):
        delta = adapters[name + ADAPTER_B] @ adapters[name + ADAPTER_A]
        merged[name] = base[name] + spec.lora.scale * delta
    return merged


def full_weights(spec: ModelSpec, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's weights for the market's tensors: as they are, or merged into the base."""
    if spec.lora is None:
        return dict(weights)
    with torch.no_grad():
        return merge(spec, base_weights(spec), weights)


class LoraModel(nn.Module):
    """The spec's model with its base frozen; its only parameters are the adapters.

    ``forward`` calls the base module with the merged weights (``torch.func.functional_call``),
    so the model's own code runs unchanged and gradients reach A and B only.
    """

    def __init__(self, spec: ModelSpec, model: nn.Module, adapters: Mapping[str, torch.Tensor]):
        super().__init__()
        self.spec = spec
        self.base = model.requires_grad_(False)
        self.input_shape = getattr(model, "input_shape", spec.input_shape)
        self.names = sorted(adapters)
        # Module attribute names cannot hold dots; the market's names are kept in self.names.
        self.adapters = nn.ParameterList(
            nn.Parameter(adapters[name].detach().clone().to(torch.float32)) for name in self.names)
        frozen = initial_a(spec) if spec.lora is not None and spec.lora.freeze_a else {}
        self.frozen_names = sorted(frozen)
        for i, name in enumerate(self.frozen_names):  # buffers: they follow .to(device)
            self.register_buffer(f"frozen_a{i}", frozen[name])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the base model with the adapters merged in."""
        frozen = dict(self.base.state_dict())
        frozen_a = {name: getattr(self, f"frozen_a{i}")
                    for i, name in enumerate(self.frozen_names)}
        merged = merge(self.spec, frozen, self.adapter_tensors(), frozen_a)
        return functional_call(self.base, merged, (x,))

    def adapter_tensors(self) -> dict[str, torch.Tensor]:
        """The adapters under their market names (live parameters, not copies)."""
        return dict(zip(self.names, self.adapters, strict=True))

    def trainable(self) -> Iterator[nn.Parameter]:
        """The parameters an optimizer steps: the adapters."""
        return iter(self.adapters)
