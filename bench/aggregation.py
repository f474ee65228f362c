"""Benchmark the aggregation rules and contribution scorers against Flower's numpy versions.

For N in {10, 50} and D in {100k, 1M}: the time of each rule and scorer, Flower's own
implementation on the same inputs in the same run (when it has one), and the memory-bandwidth
floor: one pass over N*D float32 at the speed of ``x.sum()`` over an array far larger than any
cache (a small array would be cache-resident and look faster than memory). Prints a table;
``--json`` prints one object.

    .venv/bin/python bench/aggregation.py [--json] [--quick] [--repeats R]

Ours: median of ``R`` runs (default 5). Flower: median of up to 3 runs, one when a run takes over
a second (it is slow). Flower's Bulyan repeats its O(N^2 D) Krum for every one of its n - 2f
picks, so it is skipped where that would take minutes. Leave-one-out and GTG-Shapley use a cheap
utility (a scalar function of precomputed per-update statistics), so their rows show the scorer's
own overhead, not model evaluation. ``gram:kernel`` is the Gram matrix behind Krum, Multi-Krum and
Bulyan; ``gram:torch_gemm`` the same through one torch GEMM per column chunk (the previous path,
still used for float64 and strided inputs). The kernel's one-time compile is done before timing.
Flower (``flwr``) is an optional extra: without it the Flower
column is left empty and a note says so.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from aggregator import contribution, rules
from aggregator.contribution import ScoringContext
from aggregator.rules.gram import blas_gram, gram_matrix

try:
    flwr_agg: Any = importlib.import_module("flwr.server.strategy.aggregate")
except ImportError:  # flwr is an optional bench extra; the column is left empty without it
    flwr_agg = None

SKIP_FLOWER = {("bulyan", 50, 1_000_000)}
FLOOR_ELEMENTS = 1 << 26  # 256 MiB of float32: well past the last-level cache


def median_ms(fn: Callable[[], Any], repeats: int, slow_s: float | None = None) -> float:
    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if slow_s is not None and times[-1] > slow_s:
            break
    return statistics.median(times) * 1e3


def floor_ns_per_float(repeats: int) -> float:
    big = torch.ones(FLOOR_ELEMENTS)
    big.sum()  # fault the pages in
    return median_ms(lambda: big.sum(), max(repeats, 5)) * 1e6 / FLOOR_ELEMENTS


def make_updates(n: int, d: int, f: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(d, generator=g) + 0.5 * torch.randn(n, d, generator=g)
    x[:f] *= -1.0  # f sign-flipped updates
    return x


def flower_calls(results: list, n: int, f: int) -> dict[str, Callable[[], Any]]:
    assert flwr_agg is not None
    return {
        "fedavg": lambda: flwr_agg.aggregate(results),
        "krum": lambda: flwr_agg.aggregate_krum(results, f, 0),
        "multi_krum": lambda: flwr_agg.aggregate_krum(results, f, n - f),
        "median": lambda: flwr_agg.aggregate_median(results),
        "trimmed_mean": lambda: flwr_agg.aggregate_trimmed_avg(results, f / n),
        "bulyan": lambda: flwr_agg.aggregate_bulyan(
            list(results), f, flwr_agg.aggregate_krum, to_keep=0
        ),
    }


def rule(name: str, **params: Any) -> Callable[[torch.Tensor, torch.Tensor], Any]:
    cls: Any = rules.get(name)  # the registry's type is the base class, without the params
    return cls(**params)


def scorer(name: str, **params: Any) -> Callable[[ScoringContext], Any]:
    cls: Any = contribution.get(name)
    return cls(**params)


def run_case(n: int, d: int, repeats: int, ns_per_float: float) -> list[dict[str, Any]]:
    f = (n - 3) // 4  # the largest f Bulyan allows
    x = make_updates(n, d, f)
    w = torch.full((n,), 100.0)
    floor = ns_per_float * n * d / 1e6
    ours: dict[str, Callable[[], Any]] = {
        "fedavg": lambda: rule("fedavg")(x, w),
        "krum": lambda: rule("krum", f=f)(x, w),
        "multi_krum": lambda: rule("multi_krum", f=f)(x, w),
        "median": lambda: rule("median")(x, w),
        "trimmed_mean": lambda: rule("trimmed_mean", f=f)(x, w),
        "bulyan": lambda: rule("bulyan", f=f)(x, w),
        "centered_clip": lambda: rule("centered_clip")(x, w),
        "norm_bound": lambda: rule("norm_bound")(x, w),
        "gram:kernel": lambda: gram_matrix(x),
        "gram:torch_gemm": lambda: blas_gram(x),
    }
    aggregate = rule("median")(x, w)[0]
    stats = (x[:, :1000].double() @ torch.ones(1000, dtype=torch.float64)).tolist()

    def cheap_utility(subset: tuple[int, ...]) -> float:
        return -abs(sum(stats[i] for i in subset) / max(1, len(subset)) - 1.0) if subset else -9.0

    players = tuple(range(n))
    ctx = ScoringContext(players, seed=1, updates=x, aggregate=aggregate, utility=cheap_utility)
    ours["score:cosine"] = lambda: scorer("cosine")(ctx)
    ours["score:leave_one_out"] = lambda: scorer("leave_one_out")(ctx)
    ours["score:gtg_shapley"] = lambda: scorer("gtg_shapley", max_sweeps=10)(ctx)

    flower: dict[str, Callable[[], Any]] = {}
    if flwr_agg is not None:
        results = [([row.numpy().copy()], 100) for row in x]
        flower = flower_calls(results, n, f)
    rows = [{"n": n, "d": d, "f": f, "op": "floor:1 pass", "ours_ms": floor}]
    for name, fn in ours.items():
        row: dict[str, Any] = {"n": n, "d": d, "f": f, "op": name}
        row["ours_ms"] = median_ms(fn, repeats)
        row["x_floor"] = row["ours_ms"] / floor
        if name in flower:
            if (name, n, d) in SKIP_FLOWER:
                row["flower_note"] = "skipped: n - 2f full Krum passes, minutes"
            else:
                row["flower_ms"] = median_ms(flower[name], 3, slow_s=1.0)
                row["speedup"] = row["flower_ms"] / row["ours_ms"]
        rows.append(row)
        print(f"  {n=} {d=} {name}: {row['ours_ms']:.1f} ms", file=sys.stderr)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    head = f"{'N':>3} {'D':>9} {'op':<20} {'ours ms':>9} {'x floor':>8}"
    head += f" {'flower ms':>10} {'speedup':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        fl = "skip" if "flower_note" in r else "-"
        fl = f"{r['flower_ms']:.1f}" if "flower_ms" in r else fl
        sp = f"{r['speedup']:.1f}x" if "speedup" in r else "-"
        xf = f"{r['x_floor']:.1f}" if "x_floor" in r else "1.0"
        lines.append(
            f"{r['n']:>3} {r['d']:>9} {r['op']:<20} {r['ours_ms']:>9.1f} {xf:>8} {fl:>10} {sp:>8}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="D = 100k only, one repeat")
    parser.add_argument("--repeats", type=int, default=5, help="runs per rule (median)")
    args = parser.parse_args()
    dims = [100_000] if args.quick else [100_000, 1_000_000]
    repeats = 1 if args.quick else args.repeats
    note = None if flwr_agg is not None else "flwr not installed: Flower column left empty"
    if note:
        print(f"note: {note} (install the bench extra for it)", file=sys.stderr)
    ns_per_float = floor_ns_per_float(repeats)
    rule("krum", f=0)(torch.ones(4, 64), torch.ones(4))  # compile (or load) the Gram kernel once
    rows = [r for n in (10, 50) for d in dims for r in run_case(n, d, repeats, ns_per_float)]
    meta = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "flower": None if flwr_agg is None else __import__("flwr").__version__,
        "floor_ns_per_float": ns_per_float,
        "note": note,
    }
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows}))
    else:
        if note:
            print(f"note: {note} (install the bench extra for it)")
        print(json.dumps(meta))
        print(render(rows))


if __name__ == "__main__":
    main()
