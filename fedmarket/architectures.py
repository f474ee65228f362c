"""Declarative architectures: what an owner may ask the trainers' registry to build.

An owner never ships code: a spec's ``arch`` section picks one of three families and sizes it,
and every field is plain data that the spec hash covers.

- :class:`MLPArch` — fully connected layers of any widths, an activation, dropout;
- :class:`CNNArch` — a list of :class:`ConvBlock` (channels, kernel, stride, max-pool window)
  over C×H×W images of any size, an optional GroupNorm after each convolution (BatchNorm stays
  out: its running statistics and integer counters do not average across trainers, and the
  codec carries float32 parameters only), optional fully connected layers, then a classifier;
- :class:`TransformerArch` — a small pre-norm transformer encoder over token ids (vocabulary,
  width, layers, heads, feed-forward width, maximum length) pooled by its first (CLS) token or
  by the mean over non-padding tokens.

:func:`param_shapes` derives the name and shape of every tensor from the arch alone, so the
aggregator and verifiers check updates without importing torch models; ``fedmarket.models``
builds modules whose ``state_dict`` matches it exactly (tests hold the two together).
Parameter names of the version-1 MLP and CNN (``fc1 …``, ``conv1 … fc``) are kept, so a v1
model and its v2 equivalent exchange weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from fedmarket.errors import ConfigError

__all__ = [
    "MLPArch",
    "ConvBlock",
    "CNNArch",
    "TransformerArch",
    "Arch",
    "ACTIVATIONS",
    "POOLINGS",
    "arch_from_dict",
    "arch_to_dict",
    "default_arch",
    "arch_hidden",
    "check_arch",
    "param_shapes",
    "conv_output",
]

ACTIVATIONS = ("relu", "gelu", "tanh", "silu")
POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class MLPArch:
    """Fully connected network: ``fc1 … fcK``, the last producing the class logits."""

    hidden: tuple[int, ...] = (64,)  # one hidden layer learns the small tabular sets we target
    activation: str = "relu"
    dropout: float = 0.0  # after each hidden activation; 0 keeps rounds exactly replayable


@dataclass(frozen=True)
class ConvBlock:
    """One convolution (padding ``kernel // 2``), GroupNorm if asked, activation, max-pool."""

    channels: int
    kernel: int = 3
    stride: int = 1
    pool: int = 2  # max-pool window and stride; 1 = no pooling


@dataclass(frozen=True)
class CNNArch:
    """Convolution blocks over C×H×W images, optional dense layers, a linear classifier."""

    blocks: tuple[ConvBlock, ...] = (ConvBlock(16), ConvBlock(32))
    group_norm: int = 0  # groups of a GroupNorm after each conv (must divide its channels); 0: none
    activation: str = "relu"
    hidden: tuple[int, ...] = ()  # dense widths between the flattened maps and the classifier
    dropout: float = 0.0  # before each dense layer


@dataclass(frozen=True)
class TransformerArch:
    """Pre-norm transformer encoder classifier over token ids (CLS first, PAD = 0)."""

    vocab_size: int = 259  # the built-in byte tokenizer: 256 bytes + PAD, CLS, EOS
    max_len: int = 0  # positions learned; 0: the spec's sequence length (filled in by the spec)
    width: int = 64  # small enough to train a round on a CPU core in seconds
    layers: int = 2
    heads: int = 4
    ff_width: int = 128
    dropout: float = 0.0
    pooling: str = "cls"


Arch = MLPArch | CNNArch | TransformerArch
_ARCH_OF = {"mlp": MLPArch, "cnn": CNNArch, "transformer": TransformerArch}


def default_arch(model: str, hidden: tuple[int, ...] | None) -> Arch:
    """The arch meant by the v1 shorthand ``hidden`` (MLP widths, or CNN channels per block)."""
    widths = (64,) if hidden is None else tuple(hidden)
    if model == "mlp":
        return MLPArch(hidden=widths)
    if model == "cnn":
        return CNNArch(blocks=tuple(ConvBlock(c) for c in widths))
    if model == "transformer":
        if hidden:
            raise ConfigError("a transformer takes no hidden widths; size it in arch")
        return TransformerArch()
    raise ConfigError(f"model {model!r} is unknown; choose one of {tuple(_ARCH_OF)}")


def arch_hidden(arch: Arch) -> tuple[int, ...]:
    """The v1 ``hidden`` shorthand of an arch: MLP widths, CNN block channels, () otherwise."""
    if isinstance(arch, MLPArch):
        return arch.hidden
    if isinstance(arch, CNNArch):
        return tuple(block.channels for block in arch.blocks)
    return ()


# -- JSON ---------------------------------------------------------------------------------------


def arch_to_dict(arch: Arch) -> dict[str, Any]:
    """Plain JSON-compatible dict of every field (defaults included, so the hash names them)."""
    data: dict[str, Any] = {}
    for f in fields(arch):
        value = getattr(arch, f.name)
        if f.name == "blocks":
            value = [{g.name: getattr(b, g.name) for g in fields(b)} for b in value]
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return data


def arch_from_dict(model: str, data: Any) -> Arch:
    """Parse an ``arch`` JSON object for ``model``; unknown keys and wrong types are errors."""
    cls = _ARCH_OF.get(model)
    if cls is None:
        raise ConfigError(f"model {model!r} is unknown; choose one of {tuple(_ARCH_OF)}")
    if not isinstance(data, Mapping):
        raise ConfigError(f"arch must be a JSON object, got {type(data).__name__}")
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"arch of a {model} has unknown field(s) {unknown}; allowed: {allowed}")
    body = dict(data)
    if "blocks" in body:
        body["blocks"] = tuple(_block(i, b) for i, b in enumerate(_list("arch.blocks",
                                                                         body["blocks"]), 1))
    if "hidden" in body:
        body["hidden"] = tuple(_list("arch.hidden", body["hidden"]))
    if isinstance(body.get("dropout"), int) and not isinstance(body["dropout"], bool):
        body["dropout"] = float(body["dropout"])  # 0 and 0.0 must hash equally
    return cls(**body)


def _list(where: str, value: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ConfigError(f"{where} must be a list, got {value!r}")
    return list(value)


def _block(index: int, value: Any) -> ConvBlock:
    if not isinstance(value, Mapping):
        raise ConfigError(f"arch.blocks[{index}] must be an object like "
                          f'{{"channels": 16, "kernel": 3, "stride": 1, "pool": 2}}, got {value!r}')
    allowed = [f.name for f in fields(ConvBlock)]
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(f"arch.blocks[{index}] has unknown field(s) {unknown}; "
                          f"allowed: {allowed}")
    if "channels" not in value:
        raise ConfigError(f"arch.blocks[{index}] needs channels")
    return ConvBlock(**value)


# -- validation ---------------------------------------------------------------------------------


def check_arch(model: str, arch: Any, input_shape: tuple[int, ...]) -> None:
    """Raise :class:`ConfigError` naming the first field ``arch`` cannot be built with."""
    cls = _ARCH_OF[model]
    if not isinstance(arch, cls):
        raise ConfigError(f"a {model} needs an arch of type {cls.__name__}, "
                          f"got {type(arch).__name__}")
    if isinstance(arch, MLPArch):
        _widths("arch.hidden", arch.hidden)
        _activation(arch.activation)
        _dropout(arch.dropout)
    elif isinstance(arch, CNNArch):
        _check_cnn(arch, input_shape)
    elif isinstance(arch, TransformerArch):
        _check_transformer(arch, input_shape)


def _check_cnn(arch: CNNArch, input_shape: tuple[int, ...]) -> None:
    if not arch.blocks:
        raise ConfigError("a cnn needs at least one convolution block in arch.blocks")
    for i, block in enumerate(arch.blocks, 1):
        if not isinstance(block, ConvBlock):
            raise ConfigError(f"arch.blocks[{i}] must be a ConvBlock")
        for name in ("channels", "kernel", "stride", "pool"):
            _positive(f"arch.blocks[{i}].{name}", getattr(block, name))
    if isinstance(arch.group_norm, bool) or not isinstance(arch.group_norm, int) \
            or arch.group_norm < 0:
        raise ConfigError(f"arch.group_norm must be 0 (none) or a positive number of groups, "
                          f"got {arch.group_norm!r}")
    if arch.group_norm:
        for i, block in enumerate(arch.blocks, 1):
            if block.channels % arch.group_norm:
                raise ConfigError(f"arch.group_norm {arch.group_norm} does not divide the "
                                  f"{block.channels} channels of block {i}")
    _activation(arch.activation)
    _widths("arch.hidden", arch.hidden)
    _dropout(arch.dropout)
    conv_output(arch, input_shape)  # raises if a block leaves no pixels


def _check_transformer(arch: TransformerArch, input_shape: tuple[int, ...]) -> None:
    for name in ("vocab_size", "max_len", "width", "layers", "heads", "ff_width"):
        _positive(f"arch.{name}", getattr(arch, name))
    if arch.width % arch.heads:
        raise ConfigError(f"arch.width {arch.width} must be a multiple of arch.heads {arch.heads}")
    if arch.pooling not in POOLINGS:
        raise ConfigError(f"arch.pooling {arch.pooling!r} is unknown; choose one of {POOLINGS}")
    _dropout(arch.dropout)
    if len(input_shape) != 1:
        raise ConfigError(f"a transformer reads token sequences: input_shape must be "
                          f"(sequence length,), got {input_shape}")
    if input_shape[0] > arch.max_len:
        raise ConfigError(f"sequences of {input_shape[0]} tokens exceed arch.max_len "
                          f"{arch.max_len}")


def conv_output(arch: CNNArch, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(channels, height, width) after the last block; raises if any block leaves nothing."""
    if len(input_shape) != 3:
        raise ConfigError(f"a cnn needs input_shape (channels, height, width), got {input_shape}")
    channels, height, width = input_shape
    for i, block in enumerate(arch.blocks, 1):
        pad = block.kernel // 2
        height = (height + 2 * pad - block.kernel) // block.stride + 1
        width = (width + 2 * pad - block.kernel) // block.stride + 1
        if block.pool > 1:
            height, width = height // block.pool, width // block.pool
        if height < 1 or width < 1:
            raise ConfigError(f"cnn block {i} leaves no pixels of the {input_shape[1]}x"
                              f"{input_shape[2]} input; use fewer blocks, smaller strides "
                              "or smaller pools")
        channels = block.channels
    return channels, height, width


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _widths(name: str, widths: Any) -> None:
    if not isinstance(widths, tuple):
        raise ConfigError(f"{name} must be a list of integers, got {widths!r}")
    for width in widths:
        _positive(name, width)


def _activation(name: Any) -> None:
    if name not in ACTIVATIONS:
        raise ConfigError(f"arch.activation {name!r} is unknown; choose one of {ACTIVATIONS}")


def _dropout(p: Any) -> None:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p < 1.0:
        raise ConfigError(f"arch.dropout must be a number in [0, 1), got {p!r}")


# -- shapes -------------------------------------------------------------------------------------


def param_shapes(arch: Arch, input_shape: tuple[int, ...],
                 num_classes: int) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor of the model, in sorted-name order (no model is built)."""
    shapes: dict[str, tuple[int, ...]] = {}
    if isinstance(arch, MLPArch):
        width = math.prod(input_shape)
        for i, out in enumerate((*arch.hidden, num_classes), start=1):
            shapes[f"fc{i}.weight"] = (out, width)
            shapes[f"fc{i}.bias"] = (out,)
            width = out
    elif isinstance(arch, CNNArch):
        channels = input_shape[0]
        for i, block in enumerate(arch.blocks, start=1):
            shapes[f"conv{i}.weight"] = (block.channels, channels, block.kernel, block.kernel)
            shapes[f"conv{i}.bias"] = (block.channels,)
            if arch.group_norm:
                shapes[f"norm{i}.weight"] = (block.channels,)
                shapes[f"norm{i}.bias"] = (block.channels,)
            channels = block.channels
        width = math.prod(conv_output(arch, input_shape))
        for i, out in enumerate(arch.hidden, start=1):
            shapes[f"dense{i}.weight"] = (out, width)
            shapes[f"dense{i}.bias"] = (out,)
            width = out
        shapes["fc.weight"] = (num_classes, width)
        shapes["fc.bias"] = (num_classes,)
    else:
        d, ff = arch.width, arch.ff_width
        shapes["tok_emb.weight"] = (arch.vocab_size, d)
        shapes["pos_emb"] = (arch.max_len, d)
        for i in range(arch.layers):
            at = f"blocks.{i}."
            for norm in ("norm1", "norm2"):
                shapes[f"{at}{norm}.weight"] = (d,)
                shapes[f"{at}{norm}.bias"] = (d,)
            shapes[f"{at}qkv.weight"] = (3 * d, d)
            shapes[f"{at}qkv.bias"] = (3 * d,)
            shapes[f"{at}proj.weight"] = (d, d)
            shapes[f"{at}proj.bias"] = (d,)
            shapes[f"{at}ff1.weight"] = (ff, d)
            shapes[f"{at}ff1.bias"] = (ff,)
            shapes[f"{at}ff2.weight"] = (d, ff)
            shapes[f"{at}ff2.bias"] = (d,)
        shapes["norm.weight"] = (d,)
        shapes["norm.bias"] = (d,)
        shapes["head.weight"] = (num_classes, d)
        shapes["head.bias"] = (num_classes,)
    return dict(sorted(shapes.items()))
