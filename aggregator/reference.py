"""The reference update: the project's own training, run by the aggregator on validation data.

FLTrust (Cao et al., NDSS 2021) bootstraps trust from a small clean "root dataset" the server
trains on each round; in this market the owner's validation set plays that part (it is already
stored by CID for scoring, so every verifier trains the very same reference). The reference is
trained exactly as trainers train — the spec's optimizer, learning rate, batch size and local
epochs, from the round's global model — so its direction and length are those of a clean update.

Deterministic on CPU: shuffling draws from a generator seeded by the round's scoring seed,
PyTorch's deterministic kernels are on for the duration, and it runs on one intra-op thread
whatever the caller's setting, so an aggregator and a verifier with different thread counts
train the very same reference bit for bit. Measured before pinning: the text example's
transformer reference gave ``ref_cosine`` values 1.4e-6 apart (relative) between 1 and 2
threads, above the verifiers' float tolerance of 1e-6 — a spurious dispute — and the images
example's CNN 6.9e-7; pinned, both are identical. The reference trains on the owner's small
validation set, so one thread costs little. The aggregator never imports the trainer package,
so this small loop is its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch.nn import functional as F

from fedmarket.codec import flatten
from fedmarket.datasets import Dataset
from fedmarket.errors import AggregationError
from fedmarket.models import trainable_model, trained_weights
from fedmarket.modelspec import ModelSpec

__all__ = ["train_reference", "reference_seed"]


def reference_seed(round_seed: int) -> int:
    """The torch seed of the reference training: the round's scoring seed mod 2**63."""
    return round_seed % (1 << 63)


def train_reference(spec: ModelSpec, base_weights: Mapping[str, torch.Tensor], data: Dataset,
                    seed: int) -> torch.Tensor:
    """Train the spec's model from ``base_weights`` on ``data``; return the flat delta ``[D]``."""
    if len(data) == 0:
        raise AggregationError("the reference update needs validation samples")
    x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32))
    x = x.reshape(len(data), *spec.input_shape)
    y = torch.from_numpy(np.ascontiguousarray(data.y, dtype=np.int64))
    model = trainable_model(spec, base_weights)  # with lora: the adapters over a frozen base
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    training = spec.training
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(reference_seed(seed))
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)  # thread-count independent (module docstring)
        try:
            if training.optimizer == "adam":
                optimizer: torch.optim.Optimizer = torch.optim.Adam(
                    params, lr=training.lr, weight_decay=training.weight_decay)
            else:
                optimizer = torch.optim.SGD(params, lr=training.lr,
                                            momentum=training.momentum,
                                            weight_decay=training.weight_decay)
            order = torch.Generator().manual_seed(reference_seed(seed))
            n, batch = len(y), training.batch_size
            for _ in range(training.local_epochs):
                perm = torch.randperm(n, generator=order)
                for begin in range(0, n, batch):
                    idx = perm[begin : begin + batch]
                    loss = F.cross_entropy(model(x[idx]), y[idx])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(previous, warn_only=warn_only)
    trained = flatten(trained_weights(model)).to(torch.float64)
    delta = trained - flatten(dict(base_weights)).to(torch.float64)
    if not bool(torch.isfinite(delta).all()) or math.isclose(float(delta.norm()), 0.0):
        raise AggregationError("the reference update is zero or not finite")
    return delta.to(torch.float32)
