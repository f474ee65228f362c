"""Example 4, fine-tuning: the owner pre-trains on part of digits, trainers fine-tune LoRA adapters.

scikit-learn's bundled 8×8 digits are cut in two halves (seeded, stratified). The owner's
half, restricted to the classes 0–4, pre-trains the base model (a 64-256-256-10 MLP) before the
project exists; the other half — every class — is the example's data: 20 % the owner's
validation set, the rest shared among the trainers. The base has never seen a 5–9, so it
scores about half on the validation set; the trainers' rank-2 adapters must teach it the
other classes while the market moves 1,044 numbers per update instead of 85,002 (81×).

The adapters are FFA-LoRA (A frozen, only B trained; :mod:`fedmarket.lora_spec`): measured on
this example's five shares after one round, the mean of plain LoRA adapters (A and B) scored
0.55 on the validation set (base 0.50; one trainer alone 0.82), the mean of FFA-LoRA adapters
0.72 (one trainer alone 0.69) — averaging B with a shared A averages the weight changes exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.torch import save_file

from fedmarket.architectures import MLPArch
from fedmarket.datasets import Dataset, holdout_indices, load_digits
from fedmarket.modelspec import ModelSpec, TrainingSpec

__all__ = ["FINETUNE_ARCH", "FINETUNE_TRAINING", "PRETRAIN_CLASSES", "finetune_data",
           "pretraining_data", "pretrain_base", "LORA_RANK", "LORA_ALPHA", "LORA_FREEZE_A"]

# Wide enough that adapters are a small share of it: 85,002 weights, 2,196 adapter numbers.
FINETUNE_ARCH = MLPArch(hidden=(256, 256))
LORA_RANK = 2  # measured: rank 4 and 8 averaged no better (0.69, 0.53) in one round
LORA_ALPHA = 8.0  # merged scale alpha / r = 4: adapters move the base at Adam's lr 0.01
LORA_FREEZE_A = True  # FFA-LoRA: the average of B is the average of the weight changes
PRETRAIN_CLASSES = 5  # the owner's base knows 0-4 only
# The trainers' local training: Adam as the other examples, 20 epochs because only B learns
# and a share is 144 samples (5 epochs: 0.63 after averaging; 20: 0.72; ~0.15 s per trainer).
FINETUNE_TRAINING = TrainingSpec(local_epochs=20, lr=0.01, batch_size=16, optimizer="adam")
_PRETRAIN_TRAINING = TrainingSpec(local_epochs=10, lr=0.005, batch_size=32, optimizer="adam")


def _halves() -> tuple[Dataset, Dataset]:
    digits = load_digits()
    example, owner = holdout_indices(digits.y, 0.5, seed=0, source="digits")
    return digits.subset(example), digits.subset(owner)


def finetune_data() -> Dataset:
    """The example's data: one half of digits, every class (validation and trainers' shards)."""
    return _halves()[0]


def pretraining_data() -> Dataset:
    """The owner's pre-training data: the other half of digits, classes 0-4 only."""
    owner = _halves()[1]
    return owner.subset(np.flatnonzero(owner.y < PRETRAIN_CLASSES))


def pretrain_base(path: Path, seed: int = 0) -> Path:
    """Pre-train the base on :func:`pretraining_data`; write it as ``.safetensors`` at ``path``.

    Done by the owner before posting, with the trainers' own training code on the plain (no
    LoRA) spec of the same arch; deterministic on CPU from ``seed``.
    """
    from fedmarket.models import initial_weights
    from trainer.local_training import train_local  # the owner trains like any trainer

    spec = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, arch=FINETUNE_ARCH,
                     seed=seed, training=_PRETRAIN_TRAINING)
    start = initial_weights(spec)
    update = train_local(spec, start, pretraining_data(), device="cpu", seed=seed)
    weights = {name: (start[name] + update.delta[name]).contiguous() for name in start}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path))
    return path
