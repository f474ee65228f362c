"""Local training throughput: samples/s of each model kind, digits and the example projects.

    .venv/bin/python bench/trainer.py                 # CPU, a table
    .venv/bin/python bench/trainer.py --json          # one JSON object
    .venv/bin/python bench/trainer.py --device cuda   # the same on a GPU

Each row trains with the spec's SGD loop (train_local, batch 32 unless --batch-size) for
--epochs epochs after one warm-up epoch that is not timed, on one CPU thread unless --threads.
"cnn 28x28" uses random 28x28 images (MNIST-sized) so a GPU has something to chew on; the
digits rows use scikit-learn's digits; the example rows the models and all the data of
``fedmarket demo --example tabular|images|text`` (fedmarket.examples).
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `trainer` package it measures.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from fedmarket.datasets import Dataset, load_digits  # noqa: E402
from fedmarket.examples import get_example  # noqa: E402
from fedmarket.models import initial_weights  # noqa: E402
from fedmarket.modelspec import ModelSpec, TrainingSpec  # noqa: E402
from trainer.local_training import resolve_device, train_local  # noqa: E402


def cases(batch_size: int) -> list[tuple[str, ModelSpec, Dataset]]:
    training = TrainingSpec(local_epochs=1, batch_size=batch_size, lr=0.05)
    digits = load_digits()
    images = Dataset(digits.x.reshape(-1, 1, 8, 8), digits.y, "digits")
    rng = np.random.default_rng(0)
    mnist_like = Dataset(
        rng.random((4096, 1, 28, 28), dtype=np.float32),
        rng.integers(0, 10, 4096),
        "random 28x28",
    )
    return [
        ("mlp 64-64-10", ModelSpec("mlp", (64,), 10, (64,), training=training), digits),
        ("cnn 8x8 (16,32)", ModelSpec("cnn", (1, 8, 8), 10, (16, 32), training=training), images),
        (
            "cnn 28x28 (16,32)",
            ModelSpec("cnn", (1, 28, 28), 10, (16, 32), training=training),
            mnist_like,
        ),
        *(_example_case(name, training) for name in ("tabular", "images", "text")),
    ]


def _example_case(name: str, training: TrainingSpec) -> tuple[str, ModelSpec, Dataset]:
    example = get_example(name)
    spec = ModelSpec(example.model, example.input_shape, example.num_classes,
                     arch=example.arch, training=training)
    shape = "x".join(map(str, example.input_shape))
    return f"{name}: {example.model} {shape}", spec, example.make(0).dataset


def measure(spec: ModelSpec, data: Dataset, device: torch.device, epochs: int) -> dict:
    weights = initial_weights(spec)
    train_local(spec, weights, data, device=device)  # warm-up: allocator, kernels, caches
    timed = replace(spec, training=replace(spec.training, local_epochs=epochs))
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    update = train_local(timed, weights, data, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "params": spec.num_params(),
        "samples": len(data),
        "epochs": epochs,
        "seconds": round(seconds, 4),
        "samples_per_s": round(epochs * len(data) / seconds, 1),
        "final_loss": round(update.mean_loss or 0.0, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, or auto")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    # One thread by default: these models are tiny, and on a shared 2-core machine intra-op
    # threads contend (measured here: 2 threads 40x slower than 1 for the MLP under load).
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    results = {
        name: measure(spec, data, device, args.epochs)
        for name, spec, data in cases(args.batch_size)
    }
    info = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
    }
    if args.json:
        print(json.dumps({**info, "results": results}, sort_keys=True))
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"local training on {info['device']} ({info['device_name']}), "
        f"torch {info['torch']}, {info['threads']} thread(s), batch {args.batch_size}"
    )
    for column in ("model", "params", "samples", "epochs", "seconds", "samples/s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, row in results.items():
        table.add_row(
            name,
            f"{row['params']:,}",
            f"{row['samples']:,}",
            str(row["epochs"]),
            f"{row['seconds']:.2f}",
            f"{row['samples_per_s']:,.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
