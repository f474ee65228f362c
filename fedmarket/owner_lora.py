"""The owner's side of a LoRA project: read the pre-trained base, check it, store it by CID.

The base is stored as a model file of the declared arch (the codec's format, header spec hash
of the spec without ``lora``) before the spec, whose ``lora.base_weights_cid`` names it; all of
this happens before the transaction that escrows the budget, so a base that does not fit the
arch costs nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from fedmarket.codec import DEFAULT_MAX_BYTES, ModelHeader, decode_model
from fedmarket.codec_stream import store_file
from fedmarket.errors import CodecError, ConfigError
from fedmarket.lora import check_base
from fedmarket.modelspec import ModelSpec
from fedmarket.storage.base import ContentStore

__all__ = ["read_base_weights", "store_base_weights"]


def read_base_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file: a plain one, or a fedmarket model file."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"base weights {file}: no such file")
    if file.stat().st_size > DEFAULT_MAX_BYTES:
        raise ConfigError(f"base weights {file}: {file.stat().st_size} bytes, more than the "
                          f"codec's limit {DEFAULT_MAX_BYTES}")
    data = file.read_bytes()
    try:
        return decode_model(data)[0]  # our own files: the codec's checks, header and all
    except CodecError:
        pass  # not a fedmarket model file; read it as plain safetensors
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as exc:
        raise ConfigError(f"base weights {file}: not a safetensors file ({exc})") from exc
    return {name: tensors[name] for name in sorted(tensors)}


def store_base_weights(store: ContentStore, spec: ModelSpec,
                       weights: dict[str, torch.Tensor]) -> str:
    """Check ``weights`` against the spec's declared arch, store and pin them; their CID."""
    base_spec = replace(spec, lora=None)
    check_base(base_spec, weights)
    cid = store_file(store, "model", weights, ModelHeader(0, 0, base_spec.hash()),
                     base_spec.base_shapes())
    store.pin(cid)
    return cid
