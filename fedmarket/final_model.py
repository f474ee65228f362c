"""A project's current global model as the owner would use it: merged into the base for LoRA.

The chain names the model of the last finalized round (:func:`protocol.base_model_cid`, else
the initial weights); for a LoRA project that file holds adapters only, so by default they are
merged into the posted base (``W + alpha/r · B @ A``), giving a model of the declared arch that
loads into ``fedmarket.models.build_model(spec)`` without anything from the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fedmarket.chain.market import Market
from fedmarket.codec_stream import load_file
from fedmarket.lora import full_weights
from fedmarket.modelspec import ModelSpec
from fedmarket.protocol import base_model_cid, load_spec
from fedmarket.storage.base import ContentStore

__all__ = ["FinalModel", "final_model"]


@dataclass(frozen=True)
class FinalModel:
    """The weights, the model file they came from, and the spec they belong to."""

    weights: dict[str, torch.Tensor]
    model_cid: str
    spec: ModelSpec
    merged: bool  # True: LoRA adapters merged into the base (the declared arch's tensors)


def final_model(market: Market, store: ContentStore, project: int,
                merge: bool = True) -> FinalModel:
    """The project's latest finalized global model (``merge``: LoRA adapters into the base)."""
    info = market.project(project)
    spec = load_spec(store, info.params.model_spec_cid)  # fetches a LoRA base too
    cid = base_model_cid(market, project, info.current_round + 1)
    weights, _ = load_file(store, cid, "model", spec)
    merged = merge and spec.lora is not None
    out = full_weights(spec, weights) if merged else dict(weights)
    return FinalModel({n: t.contiguous() for n, t in sorted(out.items())}, cid, spec, merged)
