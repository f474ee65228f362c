"""Local training: one round's work of a trainer, from global weights to a weight delta.

:func:`train_local` loads the round's global model into the spec's architecture, trains it on
the trainer's own data with the spec's local epochs, batch size, optimizer and learning rate,
and returns the delta (trained − global) as float32 CPU tensors, ready for
:func:`fedmarket.codec.encode_update`, with the sample count and the mean loss.

Runs on ``cuda`` when available, else CPU; ``device`` overrides. On CPU a run is reproducible
bit for bit from ``seed`` (same thread count): shuffling uses its own generator, and PyTorch's
deterministic algorithms are switched on for the duration of the call (and restored after).
On CUDA results are close but not guaranteed bitwise.

Simulated adversaries are reachable only through the explicit ``attack=`` argument, which
defaults to ``None`` (see :mod:`trainer.attacks`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fedmarket.codec import check_tensors
from fedmarket.data_fit import check_fits
from fedmarket.datasets import Dataset, partition_indices
from fedmarket.errors import DataError
from fedmarket.evaluation import evaluate, evaluate_weights, resolve_device
from fedmarket.models import trainable_model, trained_weights
from fedmarket.modelspec import ModelSpec, TrainingSpec
from trainer.attacks.base import Attack, AttackContext

__all__ = [
    "TrainingProgress",
    "LocalUpdate",
    "train_local",
    "evaluate",
    "evaluate_weights",
    "resolve_device",
    "model_input",
]


@dataclass(frozen=True)
class TrainingProgress:
    """Passed to the progress callback after every batch."""

    epoch: int  # 1-based
    epochs: int
    step: int  # batches done so far, over all epochs
    steps: int  # batches in the whole call
    samples: int  # samples processed so far, over all epochs
    loss: float  # running mean loss of the current epoch


ProgressCallback = Callable[[TrainingProgress], None]


@dataclass(frozen=True)
class LocalUpdate:
    """What a round of local training produced."""

    delta: dict[str, torch.Tensor]  # trained − global, float32 on CPU, sorted names
    samples: int  # the sample count the update is weighted by
    mean_loss: float | None  # sample-weighted training loss of the last epoch; None if untrained
    epoch_losses: tuple[float, ...]
    seconds: float
    device: str
    attack: str | None = None


def model_input(data: Dataset, spec: ModelSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Features reshaped to ``[N, *spec.input_shape]`` and labels, as CPU tensors."""
    if len(data) == 0:
        raise DataError(f"{data.source}: no samples to train on")
    check_fits(data, spec)
    x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32))
    y = torch.from_numpy(np.ascontiguousarray(data.y, dtype=np.int64))
    return x.reshape(len(data), *spec.input_shape), y


def train_local(
    spec: ModelSpec,
    global_weights: Mapping[str, torch.Tensor],
    data: Dataset,
    *,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    attack: Attack | None = None,
    context: AttackContext | None = None,
) -> LocalUpdate:
    """Train the global model on ``data`` and return the weight delta.

    ``attack`` (default ``None``: honest) turns this into a simulated adversary; ``context``
    tells it what else it knows (peers' deltas, a revealed update); fields left unset are
    filled from this call (global weights, class count, seed, own-data peer estimates).
    """
    start = time.perf_counter()
    check_tensors("global model", global_weights, spec)
    dev = resolve_device(device)
    ctx = _attack_context(spec, global_weights, data, dev, seed, context) if attack else None
    train_data = attack.poison_data(data, ctx) if attack and ctx else data
    samples = len(data)

    if attack is not None and not attack.trains:
        honest = {name: torch.zeros_like(t) for name, t in sorted(global_weights.items())}
        losses: tuple[float, ...] = ()
    else:
        honest, losses = _train_delta(spec, global_weights, train_data, dev, seed, progress)

    delta = attack.apply(honest, ctx) if attack and ctx else honest
    delta = {name: delta[name].detach().to("cpu", torch.float32) for name in sorted(delta)}
    check_tensors("update", delta, spec)
    return LocalUpdate(
        delta=delta,
        samples=samples,
        mean_loss=losses[-1] if losses else None,
        epoch_losses=losses,
        seconds=time.perf_counter() - start,
        device=str(dev),
        attack=attack.name if attack else None,
    )


# -- internals ----------------------------------------------------------------------------------


def _train_delta(
    spec: ModelSpec,
    global_weights: Mapping[str, torch.Tensor],
    data: Dataset,
    dev: torch.device,
    seed: int,
    progress: ProgressCallback | None,
) -> tuple[dict[str, torch.Tensor], tuple[float, ...]]:
    x, y = model_input(data, spec)
    model = trainable_model(spec, global_weights)  # with lora: adapters over a frozen base
    model.to(dev).train()
    with _reproducible(dev, seed):
        losses = _fit(model, x.to(dev), y.to(dev), spec.training, seed, progress)
    trained = trained_weights(model)
    delta = {
        name: trained[name] - global_weights[name].detach().to("cpu", torch.float32)
        for name in trained
    }
    return delta, losses


def _fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    training: TrainingSpec,
    seed: int,
    progress: ProgressCallback | None,
) -> tuple[float, ...]:
    optimizer = _optimizer(training, model)
    # Shuffling draws from its own CPU generator so the order depends on the seed only.
    order = torch.Generator().manual_seed(seed)
    n, batch = len(y), training.batch_size
    steps_per_epoch = math.ceil(n / batch)
    steps = training.local_epochs * steps_per_epoch
    step = 0
    losses: list[float] = []
    for epoch in range(1, training.local_epochs + 1):
        perm = torch.randperm(n, generator=order).to(x.device)
        # Summed on the device; reading it every batch would sync the GPU each step.
        epoch_loss = torch.zeros((), device=x.device)
        for begin in range(0, n, batch):
            idx = perm[begin : begin + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.detach() * len(idx)
            step += 1
            if progress is not None:
                seen = min(begin + batch, n)
                progress(
                    TrainingProgress(
                        epoch=epoch,
                        epochs=training.local_epochs,
                        step=step,
                        steps=steps,
                        samples=(epoch - 1) * n + seen,
                        loss=float(epoch_loss) / seen,
                    )
                )
        losses.append(float(epoch_loss) / n)
    return tuple(losses)


def _optimizer(training: TrainingSpec, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]  # a LoRA base stays frozen
    if training.optimizer == "adam":
        return torch.optim.Adam(params, lr=training.lr, weight_decay=training.weight_decay)
    return torch.optim.SGD(
        params,
        lr=training.lr,
        momentum=training.momentum,
        weight_decay=training.weight_decay,
    )


@contextmanager
def _reproducible(dev: torch.device, seed: int) -> Iterator[None]:
    """Seed torch and, on CPU, insist on deterministic kernels; restore both afterwards."""
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if dev.type == "cpu":
            torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous, warn_only=warn_only)


def _attack_context(
    spec: ModelSpec,
    global_weights: Mapping[str, torch.Tensor],
    data: Dataset,
    dev: torch.device,
    seed: int,
    context: AttackContext | None,
) -> AttackContext:
    ctx = context or AttackContext(seed=seed)

    def estimate_peers(k: int) -> list[dict[str, torch.Tensor]]:
        # k honest deltas from disjoint shards of the attacker's own (unpoisoned) data.
        shards = partition_indices(data.y, k, None, seed)
        return [
            _train_delta(spec, global_weights, data.subset(idx), dev, seed + 1 + i, None)[0]
            for i, idx in enumerate(shards)
        ]

    return replace(
        ctx,
        global_weights=ctx.global_weights if ctx.global_weights is not None else global_weights,
        num_classes=ctx.num_classes or spec.num_classes,
        estimate_peers=ctx.estimate_peers or estimate_peers,
    )
