"""Where may the trigger scan be on by default? Honest trainers it rejects, and what it costs.

    .venv/bin/python bench/scan_false_positives.py             # digits, wine, breast cancer
    .venv/bin/python bench/scan_false_positives.py --tasks images --seeds 0 --trainings adam \
        --splits iid --table scan_false_positives_images.md
    .venv/bin/python bench/scan_false_positives.py --json      # one JSON object

Honest-only federations (no attacker: every rejection by the scan is a false positive) of
10 parties, 3 rounds, IID and Dirichlet 0.5, seeds 0-2, trained with the robustness bench's
5 local Adam epochs and with the spec's own default, one epoch of SGD. Each federation runs
twice through the real round computation: with the scan at its default bar
(``fm.scan_round_spec()``) and without it (``fm.unscanned_round_spec()``); the table gives the
honest party-rounds the scan rejected and both runs' seconds (one thread).

Tasks: bundled digits (64 features, 10 classes, the demo's MLP), scikit-learn's wine
(13 standardised features, 3 classes), breast cancer (the ``tabular`` example: 30 features,
2 classes) and the ``images`` example's CNN on 3x16x16 shapes (4 classes; slow: about 85 s a
round). What :func:`fedmarket.scan_default.default_shortcut_bar` turns on follows from these
figures (README, "The trigger scan").
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_wine  # noqa: E402

from aggregator.trigger_scan import SHORTCUT_REASONS  # noqa: E402
from fedmarket.datasets import Dataset, load_data  # noqa: E402
from fedmarket.examples import generate  # noqa: E402
from fedmarket.examples.base import EXAMPLES  # noqa: E402
from fedmarket.modelspec import AggregationSpec, ModelSpec, ScoringSpec, TrainingSpec  # noqa: E402
from fedmarket.scan_default import default_shortcut_bar  # noqa: E402
from trainer import federation as fed_api  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("digits", "wine", "tabular", "images")
TRAININGS = {"adam": TrainingSpec(local_epochs=5, lr=0.01, batch_size=16, optimizer="adam"),
             "sgd": TrainingSpec()}
SPLITS = {"iid": None, "dir0.5": 0.5}


def task(name: str, training: TrainingSpec) -> tuple[Dataset, ModelSpec]:
    """The task's data and its spec (``trusted`` + ``group_shapley``) with ``training``."""
    kw: dict[str, Any]
    if name == "digits":
        data = load_data("digits")
        kw = {"model": "mlp", "input_shape": (64,), "num_classes": 10, "hidden": (64,)}
    elif name == "wine":
        wine = load_wine()
        x = ((wine.data - wine.data.mean(0)) / wine.data.std(0)).astype(np.float32)
        data = Dataset(x, wine.target.astype(np.int64), "wine")
        kw = {"model": "mlp", "input_shape": (13,), "num_classes": 3, "hidden": (32,)}
    elif name == "tabular":
        data = generate.breast_cancer()
        kw = {"model": "mlp", "input_shape": (30,), "num_classes": 2,
              "arch": EXAMPLES["tabular"].arch}
    else:
        data = generate.shapes(n=800, size=16, seed=0)
        kw = {"model": "cnn", "input_shape": (3, 16, 16), "num_classes": 4,
              "arch": EXAMPLES["images"].arch}
    return data, ModelSpec(**kw, training=training, aggregation=AggregationSpec("trusted", {}),
                           scoring=ScoringSpec("group_shapley"))


def run_case(name: str, training: str, split: str, seed: int) -> dict[str, Any]:
    """One honest federation, with and without the scan: false positives and seconds."""
    torch.set_num_threads(1)
    data, spec = task(name, TRAININGS[training])
    fed = fed_api.federation(data, 10, alpha=SPLITS[split], seed=seed, spec=spec)
    started = time.perf_counter()
    fed_api.run(fed, fed_api.unscanned_round_spec(), rounds=3)
    middle = time.perf_counter()
    result = fed_api.run(fed, fed_api.scan_round_spec(), rounds=3)
    done = time.perf_counter()
    return {"task": name, "training": training, "split": split, "seed": seed,
            "default_on": bool(default_shortcut_bar(spec)),
            "honest_rejected": sum(v.reason in SHORTCUT_REASONS
                                   for o in result.outcomes for v in o.verdicts),
            "party_rounds": sum(len(o.verdicts) for o in result.outcomes),
            "seconds_without": middle - started, "seconds_with": done - middle}


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Per task and training: rejected honest party-rounds per split, and the cost."""
    lines = ["| task | default on | training | iid rejected | dir0.5 rejected | s without | "
             "s with the scan |", "|---|---|---|---|---|---|---|"]
    groups = dict.fromkeys((r["task"], r["training"]) for r in rows)
    for name, training in groups:
        mine = [r for r in rows if (r["task"], r["training"]) == (name, training)]
        cells = []
        for split in SPLITS:
            part = [r for r in mine if r["split"] == split]
            cells.append(f"{sum(r['honest_rejected'] for r in part)} of "
                         f"{sum(r['party_rounds'] for r in part)}" if part else "")
        lines.append(f"| {name} | {'yes' if mine[0]['default_on'] else 'no'} | {training} | "
                     f"{cells[0]} | {cells[1]} | "
                     f"{sum(r['seconds_without'] for r in mine):.0f} | "
                     f"{sum(r['seconds_with'] for r in mine):.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid, write its table (``bench/results/scan_false_positives.md``), print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=["digits", "wine", "tabular"])
    parser.add_argument("--trainings", nargs="+", choices=sorted(TRAININGS),
                        default=["adam", "sgd"])
    parser.add_argument("--splits", nargs="+", choices=sorted(SPLITS), default=list(SPLITS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the .md table")
    parser.add_argument("--table", default="scan_false_positives.md",
                        help="file name of the .md table in --out")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = [run_case(name, training, split, seed) for name in args.tasks
            for training in args.trainings for split in args.splits for seed in args.seeds]
    table = markdown(rows) + (f"\n{len(rows)} federations in "
                              f"{time.perf_counter() - started:.0f} s, one thread, "
                              f"torch {torch.__version__}.\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / args.table).write_text(table)
    print(json.dumps({"rows": rows}, sort_keys=True) if args.json else table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
