"""Aggregation of large updates: time and peak memory of each rule and of the default pipeline.

    .venv/bin/python bench/aggregation_large.py                   # N = 20, D = 10M and 100M
    .venv/bin/python bench/aggregation_large.py --dims 1e6 --json

For N = 20 updates of D float32 parameters (an MLP sized to D, so the default pipeline can
train its reference and evaluate coalitions on validation data), each case runs in a fresh
child process holding the ``[N, D]`` stack; the table shows its time and its peak resident
memory *beyond* the stack and the inputs (already resident), next to the stack's N*D*4 bytes.
A rule that copied the stack in float64 would show 2x the stack; the targets are a small
fraction of it. ``pipeline`` is the whole round computation the aggregator and every verifier
run: the default rule (``trusted``: a reference update trained on 200 validation samples),
``group_shapley`` scores on them, rewards and the new model.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

N = 20
F = 4  # Bulyan's largest f for N = 20 is 4
RULES: dict[str, dict[str, Any]] = {
    "fedavg": {}, "multi_krum": {"f": F}, "median": {}, "trimmed_mean": {"f": F},
    "bulyan": {"f": F}, "centered_clip": {}, "norm_bound": {}}
CASES = (*RULES, "pipeline")
MB = 1024 * 1024


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(case: str, dim: int) -> dict[str, float]:
    import numpy as np
    import torch

    from aggregator import rules
    from aggregator.round import RoundInputs, RoundSpec, compute_round_or_reject_all
    from aggregator.utility import ValidationUtility
    from fedmarket.codec import flatten
    from fedmarket.datasets import Dataset
    from fedmarket.models import initial_weights
    from fedmarket.modelspec import ModelSpec, ScoringSpec, TrainingSpec

    spec = ModelSpec("mlp", (1000,), 10, (max(1, dim // 1011),),
                     training=TrainingSpec(local_epochs=1, batch_size=50, lr=0.01,
                                           optimizer="adam"),
                     scoring=ScoringSpec("group_shapley"))
    d = spec.num_params()
    gen = torch.Generator().manual_seed(0)
    stack = torch.empty((N, d))
    common = torch.randn(d, generator=gen) * 1e-3
    for i in range(N):  # row by row: never a second stack-sized temporary
        stack[i] = common + 5e-4 * torch.randn(d, generator=gen)
    stack[:F] *= -1.0  # F sign-flipped updates
    weights = torch.full((N,), 100.0)
    Path("/proc/self/clear_refs").write_text("5")  # peak from here: stack already resident
    before = _peak_mb()
    started = time.perf_counter()
    if case in RULES:
        rule: Any = rules.get(case)
        rule(**RULES[case])(stack, weights)
    else:
        rng = np.random.default_rng(0)
        validation = Dataset(rng.random((200, 1000), dtype=np.float32),
                             rng.integers(0, 10, 200), "random")
        base = initial_weights(spec)
        inputs = RoundInputs(project=1, round=1, trainers=[f"0x{i + 1:040x}" for i in range(N)],
                             update_cids=[f"u{i}" for i in range(N)], samples=[100] * N,
                             updates=stack, base_model_cid="base", pool=10**18,
                             global_model=flatten(base))
        utility = ValidationUtility(spec, base, stack, [100] * N, validation)
        compute_round_or_reject_all(inputs, RoundSpec("trusted", {}, scorer="group_shapley"),
                                    model_cid=lambda _: "", utility=utility)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "extra_mb": _peak_mb() - before, "stack_mb": N * d * 4 / MB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="1e7,1e8")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    dims = [int(float(d)) for d in args.dims.split(",")]
    if args.child:
        print(json.dumps(_child(args.child, dims[0])))
        return
    rows = []
    for dim in dims:
        for case in args.cases.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--child", case, "--dims", str(dim)],
                capture_output=True, text=True, env={**os.environ,
                                                     "PYTHONPATH": os.pathsep.join(sys.path)})
            if out.returncode != 0:
                rows.append({"dim": dim, "case": case,
                             "error": (out.stderr.strip().splitlines() or ["?"])[-1]})
            else:
                rows.append({"dim": dim, "case": case,
                             **json.loads(out.stdout.strip().splitlines()[-1])})
            print(f"  D={dim:.0e} {case}: {rows[-1]}", file=sys.stderr)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if args.json:
        print(json.dumps({"machine": machine, "n": N, "rows": rows}))
        return
    print(f"aggregation of N = {N} large updates ({machine}); extra peak memory beyond the stack")
    print(f"{'D':>12} {'case':<14} {'seconds':>9} {'extra MB':>9} {'stack MB':>9} "
          f"{'extra/stack':>12}")
    for r in rows:
        if "error" in r:
            print(f"{r['dim']:>12,} {r['case']:<14} failed: {r['error']}")
            continue
        print(f"{r['dim']:>12,} {r['case']:<14} {r['seconds']:9.2f} {r['extra_mb']:9.0f} "
              f"{r['stack_mb']:9.0f} {r['extra_mb'] / r['stack_mb']:11.2f}x")


if __name__ == "__main__":
    main()
