"""Evaluate a model of the spec's registry on a dataset: accuracy and loss.

Shared by the trainer (its own progress), the aggregator (the validation utility of
contribution scoring, the global model's accuracy) and the verifier (re-execution), which is
why it lives in the core rather than in any one component.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fedmarket.datasets import Dataset
from fedmarket.errors import ConfigError, DataError
from fedmarket.lora import full_weights
from fedmarket.models import build_model, set_weights
from fedmarket.modelspec import ModelSpec

__all__ = ["resolve_device", "evaluate", "evaluate_weights"]


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``cuda`` when available unless ``device`` says otherwise (``"cpu"``, ``"cuda:1"``)."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r}: {exc}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available here")
    return resolved


def evaluate(
    model: nn.Module,
    data: Dataset,
    *,
    device: str | torch.device | None = None,
    batch_size: int = 1024,
) -> tuple[float, float]:
    """Accuracy in [0, 1] and mean cross-entropy loss of ``model`` on ``data``."""
    if len(data) == 0:
        raise DataError(f"{data.source}: no samples to evaluate on")
    dev = torch.device(device) if device is not None else _model_device(model)
    input_shape = getattr(model, "input_shape", data.feature_shape)
    x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32))
    x = x.reshape(len(data), *input_shape)
    y = torch.from_numpy(np.ascontiguousarray(data.y, dtype=np.int64))
    was_training = model.training
    model.eval()
    correct = 0
    total_loss = 0.0
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            xb, yb = x[i : i + batch_size].to(dev), y[i : i + batch_size].to(dev)
            logits = model(xb)
            total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yb).sum())
    model.train(was_training)
    return correct / len(data), total_loss / len(data)


def evaluate_weights(
    spec: ModelSpec,
    weights: Mapping[str, torch.Tensor],
    data: Dataset,
    *,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """:func:`evaluate` for the market's tensors of a spec (e.g. a decoded global model)."""
    model = build_model(spec)
    set_weights(model, full_weights(spec, weights))  # with lora: adapters merged into the base
    dev = resolve_device(device)
    return evaluate(model.to(dev), data, device=dev)


def _model_device(model: nn.Module) -> torch.device:
    for param in model.parameters():
        return param.device
    return torch.device("cpu")
