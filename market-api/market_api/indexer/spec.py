"""The task and model a project's spec declares, for the dashboard.

Read once when the project is indexed, from the spec the owner stored by CID before posting.
A spec that is absent or not a valid model spec (the chain cannot check what owners store)
gives no task rather than stopping the index: the project still shows, without its model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fedmarket.errors import FedmarketError
from fedmarket.modelspec import ModelSpec
from market_api.indexer.results import ResultFetcher

__all__ = ["SpecTask", "spec_task"]


@dataclass(frozen=True)
class SpecTask:
    """What the dashboard shows of a spec."""

    model: str
    input_kind: str
    input_shape: str  # "3x16x16"
    num_classes: int
    num_params: int  # what each update holds: with LoRA, the adapters
    lora_rank: int | None = None  # None: the whole model is trained
    base_params: int | None = None  # LoRA: scalars of the frozen base model


def spec_task(fetch: ResultFetcher, cid: str) -> SpecTask | None:
    """The task of the spec at ``cid``, or None when it is missing or invalid."""
    try:
        data = fetch(cid)
        if data is None:
            return None
        spec = ModelSpec.from_json(data)
    except FedmarketError:
        return None
    lora = spec.lora
    base = sum(math.prod(s) for s in spec.base_shapes().values()) if lora else None
    return SpecTask(spec.model, spec.input_kind, "x".join(map(str, spec.input_shape)),
                    spec.num_classes, spec.num_params(), lora.rank if lora else None, base)
