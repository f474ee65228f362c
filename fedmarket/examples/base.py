"""The example projects: data, the model the owner posts, and the files each party reads.

``tabular``: scikit-learn's bundled breast-cancer data (30 features, 2 classes), an MLP, CSV
files. ``images``: generated 3×16×16 coloured shapes (4 classes), a CNN with GroupNorm, PNG
image folders. ``text``: generated topic sentences (3 classes), a small transformer over byte
tokens, JSON Lines files. Sizes are chosen so a round trains in about a second per trainer
on one CPU core, which keeps the demo and its tests short.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedmarket.architectures import (
    Arch,
    CNNArch,
    ConvBlock,
    MLPArch,
    TransformerArch,
)
from fedmarket.datasets import Dataset, holdout_indices, partition_indices
from fedmarket.errors import ConfigError
from fedmarket.examples import finetune, generate
from fedmarket.modelspec import TrainingSpec
from fedmarket.tokenizer import encode_texts

__all__ = ["Example", "ExampleData", "ExampleSplit", "EXAMPLES", "EXAMPLE_NAMES", "get_example"]

TEXT_LENGTH = 48  # bytes: the generated sentences are 20-45 characters


@dataclass(frozen=True)
class ExampleData:
    """All samples of an example; ``texts`` holds the raw sentences a text dataset came from."""

    dataset: Dataset
    texts: tuple[str, ...] = ()

    def subset(self, indices: np.ndarray) -> ExampleData:
        """The samples at ``indices``, texts included."""
        texts = tuple(self.texts[i] for i in indices) if self.texts else ()
        return ExampleData(self.dataset.subset(indices), texts)


@dataclass(frozen=True)
class ExampleSplit:
    """The owner's validation part and each trainer's part, in memory and as files."""

    validation: ExampleData
    shards: list[ExampleData]
    validation_path: Path
    shard_paths: list[Path]


@dataclass(frozen=True)
class Example:
    """One example project (see the module docstring)."""

    name: str
    summary: str
    model: str
    arch: Arch
    input_shape: tuple[int, ...]
    num_classes: int
    training: TrainingSpec
    make: Callable[[int], ExampleData]  # seed → all samples
    file_format: str  # "csv", "images" or "jsonl": what owner and trainers read
    # LoRA fine-tuning (example 4): rank > 0 posts a pre-trained base that ``pretrain`` writes
    # (a .safetensors path) and trains adapters on it.
    lora_rank: int = 0
    lora_alpha: float = 8.0
    lora_freeze_a: bool = False
    pretrain: Callable[[Path], Path] | None = None

    def split(self, trainers: int, folder: Path, seed: int = 0,
              alpha: float | None = None) -> ExampleSplit:
        """Hold out 20 % for the owner, share the rest among ``trainers``, write every part."""
        data = self.make(seed)
        rest, held = holdout_indices(data.dataset.y, 0.2, seed=0, source=self.name)
        rest_data = data.subset(rest)
        parts = partition_indices(rest_data.dataset.y, trainers, alpha, seed, min_size=2)
        shards = [rest_data.subset(idx) for idx in parts]
        validation = data.subset(held)
        folder.mkdir(parents=True, exist_ok=True)
        return ExampleSplit(validation, shards, self.write(validation, folder / "validation"),
                            [self.write(s, folder / f"trainer-{i}") for i, s in enumerate(shards)])

    def write(self, data: ExampleData, stem: Path) -> Path:
        """Write ``data`` in this example's file format at ``stem`` (+ suffix); return the path."""
        if self.file_format == "csv":
            return _write_csv(data.dataset, stem.with_suffix(".csv"))
        if self.file_format == "images":
            return _write_images(data.dataset, stem)
        return _write_jsonl(data, stem.with_suffix(".jsonl"))


def _write_csv(data: Dataset, path: Path) -> Path:
    """Header ``f0 … f29,label``: the label last, where ``--label-column`` defaults."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        width = data.x.shape[1]
        writer.writerow([f"f{i}" for i in range(width)] + ["label"])
        for row, label in zip(data.x, data.y, strict=True):
            writer.writerow([repr(float(v)) for v in row] + [int(label)])
    return path


def _write_images(data: Dataset, folder: Path) -> Path:
    """One PNG per sample in ``folder/<label>/``: the labels are the folder names."""
    from PIL import Image

    for i, (image, label) in enumerate(zip(data.x, data.y, strict=True)):
        target = folder / str(int(label))
        target.mkdir(parents=True, exist_ok=True)
        pixels = np.round(np.transpose(image, (1, 2, 0)) * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="RGB").save(target / f"{i:05d}.png")
    return folder


def _write_jsonl(data: ExampleData, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for text, label in zip(data.texts, data.dataset.y, strict=True):
            handle.write(json.dumps({"text": text, "label": int(label)}) + "\n")
    return path


def _tabular(seed: int) -> ExampleData:
    return ExampleData(generate.breast_cancer())


def _images(seed: int) -> ExampleData:
    return ExampleData(generate.shapes(n=800, size=16, seed=seed))


def _finetune(seed: int) -> ExampleData:
    return ExampleData(finetune.finetune_data())


def _text(seed: int) -> ExampleData:
    texts, labels = generate.topics(n=600, seed=seed)
    ids = encode_texts(texts, TEXT_LENGTH).astype(np.float32)
    return ExampleData(Dataset(ids, labels, "topics"), tuple(texts))


# Five local Adam epochs as the digits demo uses: each reaches well above chance in one round
# on a trainer's share (measured from one 1/5 share: validation accuracy tabular 0.85,
# images 0.47, text 0.61; chance is 0.5, 0.25, 0.33).
_TRAINING = TrainingSpec(local_epochs=5, lr=0.01, batch_size=16, optimizer="adam")

EXAMPLES: dict[str, Example] = {
    "tabular": Example(
        name="tabular", summary="breast cancer (scikit-learn, 30 features, 2 classes), MLP, CSV",
        model="mlp", arch=MLPArch(hidden=(32,)), input_shape=(30,), num_classes=2,
        training=_TRAINING, make=_tabular, file_format="csv"),
    "images": Example(
        name="images", summary="coloured shapes (3x16x16, 4 classes), CNN + GroupNorm, PNG "
                               "folders",
        model="cnn", arch=CNNArch(blocks=(ConvBlock(8), ConvBlock(16)), group_norm=4),
        input_shape=(3, 16, 16), num_classes=4, training=_TRAINING, make=_images,
        file_format="images"),
    "text": Example(
        name="text", summary="topic sentences (3 classes), byte-token transformer, JSON Lines",
        model="transformer",
        arch=TransformerArch(width=32, heads=2, layers=1, ff_width=64, pooling="mean"),
        input_shape=(TEXT_LENGTH,), num_classes=3, training=_TRAINING, make=_text,
        file_format="jsonl"),
    "finetune": Example(
        name="finetune", summary="digits: owner pre-trains on classes 0-4, trainers fine-tune "
                                 "rank-2 LoRA adapters (FFA-LoRA) on every class, CSV",
        model="mlp", arch=finetune.FINETUNE_ARCH, input_shape=(64,), num_classes=10,
        training=finetune.FINETUNE_TRAINING, make=_finetune, file_format="csv",
        lora_rank=finetune.LORA_RANK, lora_alpha=finetune.LORA_ALPHA,
        lora_freeze_a=finetune.LORA_FREEZE_A, pretrain=finetune.pretrain_base),
}
EXAMPLE_NAMES = ("digits", *EXAMPLES)


def get_example(name: str) -> Example:
    """The example called ``name`` (``digits`` is the demo's own default, not listed here)."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise ConfigError(f"unknown example {name!r}; choose one of "
                          f"{', '.join(EXAMPLE_NAMES)}") from None
