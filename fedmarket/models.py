"""The model registry: a project's :class:`~fedmarket.modelspec.ModelSpec` names one of these.

No code is downloaded: a spec can only pick an architecture registered here and size it. Every
module's ``state_dict`` has exactly the names and shapes of ``spec.param_shapes()`` and holds
only float32 parameters (no BatchNorm: its integer counters and running statistics do not
average meaningfully across trainers, and the codec accepts float32 only).

Initialisation is deterministic: :func:`build_model` seeds PyTorch's default initialisers from
``spec.seed`` inside a forked RNG, so the global RNG of the caller is left untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from fedmarket.errors import ConfigError
from fedmarket.modelspec import ModelSpec

__all__ = [
    "MLP",
    "CNN",
    "register_model",
    "build_model",
    "model_names",
    "get_weights",
    "set_weights",
    "initial_weights",
]

Builder = Callable[[ModelSpec], nn.Module]
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


class MLP(nn.Module):
    """Fully connected ReLU network: ``fc1 … fcK``, the last one producing class logits."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], num_classes: int):
        super().__init__()
        self.input_shape: tuple[int, ...] = (in_features,)  # what evaluate() reshapes to
        widths = (in_features, *hidden, num_classes)
        self.depth = len(widths) - 1
        for i in range(self.depth):
            self.add_module(f"fc{i + 1}", nn.Linear(widths[i], widths[i + 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch; any input shape is flattened per sample."""
        x = x.flatten(1)
        for i in range(1, self.depth + 1):
            x = getattr(self, f"fc{i}")(x)
            if i < self.depth:
                x = F.relu(x)
        return x


class CNN(nn.Module):
    """Blocks of 3×3 conv (padding 1) + ReLU + 2×2 max-pool, then one linear classifier."""

    def __init__(self, input_shape: tuple[int, ...], channels: tuple[int, ...], num_classes: int):
        super().__init__()
        self.input_shape: tuple[int, ...] = tuple(input_shape)
        in_channels, height, width = input_shape
        self.blocks = len(channels)
        for i, out in enumerate(channels, start=1):
            self.add_module(f"conv{i}", nn.Conv2d(in_channels, out, kernel_size=3, padding=1))
            in_channels, height, width = out, height // 2, width // 2
        self.fc = nn.Linear(in_channels * height * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of ``[B, C, H, W]`` images."""
        for i in range(1, self.blocks + 1):
            x = F.max_pool2d(F.relu(getattr(self, f"conv{i}")(x)), 2)
        return self.fc(x.flatten(1))


@register_model("mlp")
def _build_mlp(spec: ModelSpec) -> nn.Module:
    return MLP(math.prod(spec.input_shape), spec.hidden, spec.num_classes)


@register_model("cnn")
def _build_cnn(spec: ModelSpec) -> nn.Module:
    return CNN(spec.input_shape, spec.hidden, spec.num_classes)


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
    if shapes != spec.param_shapes():  # a registry bug, never user input
        raise AssertionError(f"{spec.model} built {shapes}, spec says {spec.param_shapes()}")
    return model


def get_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached float32 CPU copies of the model's tensors, in sorted-name order."""
    state = model.state_dict()
    return {name: state[name].detach().to("cpu", torch.float32).clone() for name in sorted(state)}


def set_weights(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Load ``weights`` into ``model`` (names and shapes must match exactly)."""
    model.load_state_dict(dict(weights), strict=True)


def initial_weights(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """The round-0 global model of a project (what the owner encodes and posts)."""
    return get_weights(build_model(spec))
