"""The model registry: a project's :class:`~fedmarket.modelspec.ModelSpec` names one of these.

No code is downloaded: a spec can only pick an architecture registered here and size it through
its declarative arch (:mod:`fedmarket.architectures`). Every
module's ``state_dict`` has exactly the names and shapes of ``spec.param_shapes()`` and holds
only float32 parameters (no BatchNorm: its integer counters and running statistics do not
average meaningfully across trainers, and the codec accepts float32 only).

Initialisation is deterministic: :func:`build_model` seeds PyTorch's default initialisers from
``spec.seed`` inside a forked RNG, so the global RNG of the caller is left untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from fedmarket.architectures import CNNArch, MLPArch, TransformerArch, conv_output
from fedmarket.errors import ConfigError
from fedmarket.lora import LoraModel, base_weights, init_adapters
from fedmarket.modelspec import ModelSpec
from fedmarket.transformer import TransformerClassifier

__all__ = [
    "MLP",
    "CNN",
    "TransformerClassifier",
    "register_model",
    "build_model",
    "model_names",
    "get_weights",
    "set_weights",
    "initial_weights",
    "trainable_model",
    "trained_weights",
]

Builder = Callable[[ModelSpec], nn.Module]
ArchT = TypeVar("ArchT", MLPArch, CNNArch, TransformerArch)
_REGISTRY: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register a builder under ``name`` (it must also be known to ``ModelSpec``)."""

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return decorate


def model_names() -> list[str]:
    """Names of the registered architectures."""
    return sorted(_REGISTRY)


_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}


class MLP(nn.Module):
    """Fully connected network: ``fc1 … fcK``, the last one producing class logits."""

    def __init__(self, input_shape: tuple[int, ...], arch: MLPArch, num_classes: int):
        super().__init__()
        self.input_shape: tuple[int, ...] = tuple(input_shape)  # what evaluate() reshapes to
        widths = (math.prod(input_shape), *arch.hidden, num_classes)
        self.depth = len(widths) - 1
        self.activation = _ACTIVATIONS[arch.activation]
        self.dropout = arch.dropout
        for i in range(self.depth):
            self.add_module(f"fc{i + 1}", nn.Linear(widths[i], widths[i + 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch; any input shape is flattened per sample."""
        x = x.flatten(1)
        for i in range(1, self.depth + 1):
            x = getattr(self, f"fc{i}")(x)
            if i < self.depth:
                x = F.dropout(self.activation(x), self.dropout, self.training)
        return x


class CNN(nn.Module):
    """Conv blocks (conv, GroupNorm if asked, activation, max-pool), dense layers, classifier."""

    def __init__(self, input_shape: tuple[int, ...], arch: CNNArch, num_classes: int):
        super().__init__()
        self.input_shape: tuple[int, ...] = tuple(input_shape)
        self.arch = arch
        self.activation = _ACTIVATIONS[arch.activation]
        channels = input_shape[0]
        for i, block in enumerate(arch.blocks, start=1):
            self.add_module(f"conv{i}", nn.Conv2d(channels, block.channels, block.kernel,
                                                  stride=block.stride, padding=block.kernel // 2))
            if arch.group_norm:
                self.add_module(f"norm{i}", nn.GroupNorm(arch.group_norm, block.channels))
            channels = block.channels
        width = math.prod(conv_output(arch, self.input_shape))
        for i, out in enumerate(arch.hidden, start=1):
            self.add_module(f"dense{i}", nn.Linear(width, out))
            width = out
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of ``[B, C, H, W]`` images."""
        for i, block in enumerate(self.arch.blocks, start=1):
            x = getattr(self, f"conv{i}")(x)
            if self.arch.group_norm:
                x = getattr(self, f"norm{i}")(x)
            x = self.activation(x)
            if block.pool > 1:
                x = F.max_pool2d(x, block.pool)
        x = x.flatten(1)
        for i in range(1, len(self.arch.hidden) + 1):
            x = F.dropout(x, self.arch.dropout, self.training)
            x = self.activation(getattr(self, f"dense{i}")(x))
        return self.fc(F.dropout(x, self.arch.dropout, self.training) if self.arch.hidden else x)


def _arch(spec: ModelSpec, kind: type[ArchT]) -> ArchT:
    if not isinstance(spec.arch, kind):  # ModelSpec validation guarantees it; keeps mypy exact
        raise ConfigError(f"{spec.model} needs a {kind.__name__}, got {type(spec.arch).__name__}")
    return spec.arch


@register_model("mlp")
def _build_mlp(spec: ModelSpec) -> nn.Module:
    return MLP(spec.input_shape, _arch(spec, MLPArch), spec.num_classes)


@register_model("cnn")
def _build_cnn(spec: ModelSpec) -> nn.Module:
    return CNN(spec.input_shape, _arch(spec, CNNArch), spec.num_classes)


@register_model("transformer")
def _build_transformer(spec: ModelSpec) -> nn.Module:
    return TransformerClassifier(spec.input_shape, _arch(spec, TransformerArch), spec.num_classes)


def build_model(spec: ModelSpec, seed: int | None = None) -> nn.Module:
    """Build the spec's model on CPU, initialised deterministically from ``seed`` or spec.seed."""
    try:
        builder = _REGISTRY[spec.model]
    except KeyError:
        raise ConfigError(
            f"model {spec.model!r} is not in the trainer's registry {model_names()}"
        ) from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed if seed is None else seed)
        model = builder(spec)
    shapes = {name: tuple(t.shape) for name, t in sorted(model.state_dict().items())}
    if shapes != spec.base_shapes():  # a registry bug, never user input
        raise AssertionError(f"{spec.model} built {shapes}, spec says {spec.base_shapes()}")
    return model


def get_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached float32 CPU copies of the model's tensors, in sorted-name order."""
    state = model.state_dict()
    return {name: state[name].detach().to("cpu", torch.float32).clone() for name in sorted(state)}


def set_weights(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Load ``weights`` into ``model`` (names and shapes must match exactly)."""
    model.load_state_dict(dict(weights), strict=True)


def initial_weights(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """The round-0 global model of a project (what the owner encodes and posts).

    With ``lora``: the round-0 adapters (B = 0, so the merged model is the posted base).
    """
    if spec.lora is not None:
        return init_adapters(spec)
    return get_weights(build_model(spec))


def trainable_model(spec: ModelSpec, weights: Mapping[str, torch.Tensor]) -> nn.Module:
    """A model to train from the market's tensors: the full model, or the frozen base + adapters.

    An optimizer steps only the parameters with ``requires_grad`` (all of a plain model's).
    """
    model = build_model(spec)
    if spec.lora is None:
        set_weights(model, weights)
        return model
    set_weights(model, base_weights(spec))
    return LoraModel(spec, model, weights)


def trained_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The market's tensors of a :func:`trainable_model` (detached float32 CPU copies)."""
    if isinstance(model, LoraModel):
        return {name: t.detach().to("cpu", torch.float32).clone()
                for name, t in model.adapter_tensors().items()}
    return get_weights(model)
