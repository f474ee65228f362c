"""What update compression costs in accuracy, and what it saves in bytes, through the real round.

    .venv/bin/python bench/compression.py                 # 3 seeds x (IID, Dirichlet 0.5)
    .venv/bin/python bench/compression.py --seeds 0 --json

In process through the round computation (:mod:`trainer.federation`, the default pipeline:
``trusted`` + ``group_shapley``), bundled digits, 10 honest parties, 5 rounds. Every party
sends its update compressed — int8, or top-k with error feedback (each party keeps its own
residual across rounds) — and the round sees exactly what the aggregator would decode. Per
variant: final test accuracy and its difference to the uncompressed run of the same seed and
split (measured in this same invocation), updates accepted per round, and the payload ratio
(float32 bytes / compressed bytes).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

from fedmarket.compression import Compression, ErrorFeedback, compressed_bytes, decompress  # noqa: E402
from fedmarket.datasets import load_data  # noqa: E402
from trainer import federation as fed_api  # noqa: E402

VARIANTS: dict[str, Compression | None] = {
    "float32": None, "int8": Compression("int8"), "topk 10%": Compression("topk", 0.1),
    "topk 1%": Compression("topk", 0.01)}
SPLITS = {"iid": None, "dir0.5": 0.5}
PARTIES = 10


def _compressing(how: Compression, sizes: list[int]) -> fed_api.Behaviour:
    """An honest party that sends its update compressed as ``how`` (its own error feedback)."""
    feedback = ErrorFeedback()

    def behave(view: fed_api.PartyView) -> list[fed_api.Submission]:
        parts = feedback.step(view.honest_delta, how)
        sizes.append(compressed_bytes(parts))
        return [fed_api.Submission(decompress(parts), view.samples)]

    return behave


def run_cell(seed: int, split: str, variant: str, rounds: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    fed = fed_api.federation(load_data("digits"), parties=PARTIES, alpha=SPLITS[split],
                             seed=seed)
    how = VARIANTS[variant]
    sizes: list[int] = []
    behaviours = ({p: _compressing(how, sizes) for p in range(PARTIES)}
                  if how is not None else {})
    result = fed_api.run(fed, fed_api.default_round_spec(), behaviours, rounds=rounds)
    dense = 4 * fed.spec.num_params()
    ratio = dense / statistics.mean(sizes) if sizes else 1.0
    accepted = statistics.mean(sum(r) for r in result.accepted)
    return {"seed": seed, "split": split, "variant": variant, "accuracy": result.accuracy,
            "accepted_per_round": accepted, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # deterministic and comparable between variants
    seeds = [int(s) for s in args.seeds.split(",")]
    cells = [run_cell(seed, split, variant, args.rounds)
             for seed in seeds for split in SPLITS for variant in VARIANTS]
    clean = {(c["seed"], c["split"]): c["accuracy"] for c in cells if c["variant"] == "float32"}
    for c in cells:
        c["accuracy_vs_float32"] = c["accuracy"] - clean[(c["seed"], c["split"])]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if args.json:
        print(json.dumps({"machine": machine, "rounds": args.rounds, "cells": cells}))
        return
    print(f"compression ({machine}), {args.rounds} rounds, {PARTIES} honest parties, "
          f"seeds {seeds}; mean over seeds (min..max of the accuracy difference)")
    print(f"{'split':<8} {'variant':<10} {'accuracy':>9} {'vs float32':>22} "
          f"{'accepted/round':>15} {'bytes ratio':>12}")
    for split in SPLITS:
        for variant in VARIANTS:
            rows = [c for c in cells if c["split"] == split and c["variant"] == variant]
            diffs = [c["accuracy_vs_float32"] for c in rows]
            print(f"{split:<8} {variant:<10} "
                  f"{statistics.mean(c['accuracy'] for c in rows):9.3f} "
                  f"{statistics.mean(diffs):+8.3f} ({min(diffs):+.3f}..{max(diffs):+.3f}) "
                  f"{statistics.mean(c['accepted_per_round'] for c in rows):15.1f} "
                  f"{statistics.mean(c['ratio'] for c in rows):11.1f}x")


if __name__ == "__main__":
    main()
