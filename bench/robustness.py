"""Robustness: final accuracy and malicious reward share under the trainer's attack suite.

    .venv/bin/python bench/robustness.py            # every rule x attack x fraction
    .venv/bin/python bench/robustness.py --quick    # default rule + every rule vs sign_flip
    .venv/bin/python bench/robustness.py --json     # one JSON object instead of the table

In process, no chain (the chain path is tested elsewhere), but with the code the market runs:
``train_local`` (with ``trainer.attacks``), the update codec, and
``aggregator.round.compute_round_or_reject_all`` with GTG-Shapley on the owner's validation data.
Digits, 20% held out by the owner (validation, scoring and the reported accuracy), the rest split
non-IID (Dirichlet alpha=0.5) among 10 trainers; the last k of them are malicious (10/20/30%).
Every rule gets the owner's f = ceil(0.3 n), except Bulyan, which needs n >= 4f + 3 and so gets
the largest f that n allows. ALIE and IPM see every honest delta of the round (the papers'
omniscient collusion). A copycat copies the update an honest trainer revealed in the previous
round (commit-reveal hides the current one), each copycat a different trainer; in round 1 there is
nothing to copy and it free-rides (zeros). ``--quick``: the default rule (multi_krum) on every
attack and fraction, plus every rule against sign_flip at 30%.

Target (issue 8): with the default rule, accuracy within 2 points of the clean run and malicious
share <= 1% for every attack at 30%.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, and bench/trainer.py would
# shadow the `trainer` package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections import Counter, OrderedDict  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402
from eth_account import Account  # noqa: E402

from aggregator import rules  # noqa: E402
from aggregator.round import RoundInputs, RoundSpec, compute_round_or_reject_all  # noqa: E402
from aggregator.utility import ValidationUtility  # noqa: E402
from aggregator.validation import update_digest, validate_updates  # noqa: E402
from fedmarket.codec import (  # noqa: E402
    ModelHeader,
    UpdateHeader,
    decode_update,
    encode_model,
    encode_update,
    flatten,
    unflatten,
)
from fedmarket.datasets import Dataset, holdout_split, load_data, partition  # noqa: E402
from fedmarket.evaluation import evaluate_weights  # noqa: E402
from fedmarket.models import initial_weights  # noqa: E402
from fedmarket.modelspec import AggregationSpec, ModelSpec, ScoringSpec, TrainingSpec  # noqa: E402
from fedmarket.storage.importer import import_stream  # noqa: E402
from trainer import attacks  # noqa: E402
from trainer.attacks import AttackContext  # noqa: E402
from trainer.local_training import train_local  # noqa: E402

DEFAULT_RULE = "multi_krum"
FRACTIONS = (10, 20, 30)  # percent of trainers that are malicious
PROJECT = 1
POOL = 10**18  # wei per round
TARGET_DROP = 2.0  # accuracy points below the clean run, at most
TARGET_SHARE = 0.01  # malicious share of rewards, at most
OMNISCIENT = ("alie", "ipm")  # attacks handed the honest peers' deltas of the round
RESULTS = Path(__file__).resolve().parent / "results"

Cell = tuple[str, str | None, int]  # (rule, attack or None for clean, malicious count)


@dataclass(frozen=True)
class Setup:
    """The federation every run shares."""

    trainers: int
    rounds: int
    shards: tuple[Dataset, ...]
    validation: Dataset
    addresses: tuple[str, ...]  # ascending, so trainer index order is the canonical order
    owner_f: int  # Byzantine trainers the owner plans for: ceil(30% of n)


def make_setup(trainers: int = 10, rounds: int = 3) -> Setup:
    """Digits, 20% held out by the owner, the rest split non-IID among ``trainers``."""
    rest, validation = holdout_split(load_data("digits"), fraction=0.2, seed=0)
    shards = partition(rest, trainers, alpha=0.5, seed=0)
    keys = [Account.from_key((i + 1).to_bytes(32, "big")).address for i in range(trainers)]
    return Setup(trainers, rounds, tuple(shards), validation,
                 tuple(sorted(keys, key=str.lower)), -(-3 * trainers // 10))


def malicious_count(percent: int, trainers: int) -> int:
    """Malicious trainers at ``percent`` of ``trainers`` (rounded)."""
    return round(percent * trainers / 100)


def rule_params(rule: str, n: int, f: int) -> dict[str, Any]:
    """The parameters each rule runs with when the owner plans for ``f`` attackers."""
    if rule in ("krum", "multi_krum", "trimmed_mean"):
        return {"f": f}
    if rule == "bulyan":
        return {"f": min(f, (n - 3) // 4)}  # Bulyan needs n >= 4f + 3
    return {}  # fedavg, median; centered_clip and norm_bound pick their radius per round


def model_spec(rule: str, params: Mapping[str, Any]) -> ModelSpec:
    """The project's spec: the demo's MLP and training, ``rule``, GTG-Shapley scoring."""
    return ModelSpec(
        model="mlp", input_shape=(64,), num_classes=10, hidden=(64,),
        training=TrainingSpec(local_epochs=5, lr=0.01, batch_size=16, optimizer="adam"),
        aggregation=AggregationSpec(rule, dict(params)), scoring=ScoringSpec("gtg_shapley"))


def cid_of(blob: bytes) -> str:
    """The UnixFS CID the store would give ``blob`` (``ipfs add --only-hash``)."""
    return str(import_stream(io.BytesIO(blob)).cid)


class DeltaCache:
    """Honest deltas by (trainer, round, global model): they depend on nothing else here."""

    def __init__(self, capacity: int = 1000):
        self.capacity = capacity
        self.entries: OrderedDict[tuple[int, int, bytes], dict[str, torch.Tensor]] = OrderedDict()

    def honest(self, spec: ModelSpec, weights: Mapping[str, torch.Tensor], shard: Dataset,
               trainer: int, round_: int, digest: bytes) -> dict[str, torch.Tensor]:
        """The honest delta of ``trainer`` in ``round_`` from ``weights`` (digest ``digest``)."""
        key = (trainer, round_, digest)
        if key in self.entries:
            self.entries.move_to_end(key)
            return self.entries[key]
        delta = train_local(spec, weights, shard, device="cpu", seed=seed_of(round_, trainer)).delta
        self.entries[key] = delta
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
        return delta


def seed_of(round_: int, trainer: int) -> int:
    """Training seed of a trainer in a round (the same in every run, so caches hit)."""
    return 1000 * round_ + trainer


@dataclass
class Run:
    """One simulated project: a rule against an attack (or none) by ``malicious`` trainers."""

    rule: str
    rule_params: dict[str, Any]
    attack: str | None
    malicious: int
    accuracy: float  # final global model on the owner's validation data
    round_accuracy: list[float]
    aggregated_rounds: int
    rewards_wei: list[int]  # per trainer, summed over rounds
    malicious_share: float  # of all rewards paid (0 when nothing was paid)
    malicious_verdicts: dict[str, int]  # "accepted" or rejection reason -> count over rounds
    malicious_validation: dict[str, int]  # the same from the update checks before the rule
    honest_rejected: int
    seconds: float


def simulate(setup: Setup, rule: str, attack: str | None, k: int, cache: DeltaCache) -> Run:
    """Run ``setup.rounds`` rounds of one project; trainers ``n-k..n-1`` run ``attack``."""
    if (attack is None) != (k == 0):
        raise ValueError("a clean run has no malicious trainers, an attacked run has some")
    start = time.perf_counter()
    n = setup.trainers
    params = rule_params(rule, n, setup.owner_f)
    spec = model_spec(rule, params)
    round_spec = RoundSpec(rule, params, scorer="gtg_shapley")
    weights = initial_weights(spec)
    rewards = [0] * n
    accuracies: list[float] = []
    verdicts: Counter[str] = Counter()
    checks: Counter[str] = Counter()
    honest_rejected = aggregated = 0
    revealed: list[bytes] = []  # honest updates revealed last round, for copycats
    earlier: frozenset[bytes] = frozenset()  # digests of every update revealed last round
    for r in range(1, setup.rounds + 1):
        base = flatten(weights)
        digest = hashlib.sha256(base.numpy().tobytes()).digest()
        deltas = [cache.honest(spec, weights, setup.shards[i], i, r, digest) for i in range(n - k)]
        honest = list(deltas)
        for m, i in enumerate(range(n - k, n)):
            copy = revealed[m % len(revealed)] if revealed else None
            assert attack is not None
            deltas.append(_attacked_delta(spec, weights, setup, attack, k, r, i, honest, copy))
        samples = [len(s) for s in setup.shards]
        blobs = [encode_update(d, UpdateHeader(PROJECT, r, setup.addresses[i], samples[i],
                                               spec.hash()), spec) for i, d in enumerate(deltas)]
        revealed = blobs[: n - k]
        stacked = torch.stack([flatten(decode_update(b, spec)[0]) for b in blobs])
        inputs = RoundInputs(
            project=PROJECT, round=r, trainers=setup.addresses,
            update_cids=[cid_of(b) for b in blobs], samples=samples, updates=stacked,
            base_model_cid=cid_of(encode_model(weights, ModelHeader(PROJECT, r - 1, spec.hash()),
                                               spec)),
            pool=POOL, global_model=base, earlier_digests=earlier)
        earlier = frozenset(update_digest(row) for row in stacked)

        def model_cid(aggregate: torch.Tensor, base: torch.Tensor = base, r: int = r) -> str:
            header = ModelHeader(PROJECT, r, spec.hash())
            return cid_of(encode_model(_new_global(spec, base, aggregate), header, spec))

        for v in validate_updates(inputs.updates, base, earlier=inputs.earlier_digests)[n - k:]:
            checks[v.reason or "accepted"] += 1
        utility = ValidationUtility(spec, weights, inputs.updates, inputs.samples,
                                    setup.validation)
        outcome = compute_round_or_reject_all(inputs, round_spec, model_cid=model_cid,
                                              utility=utility)
        weights = _new_global(spec, base, outcome.aggregate)
        aggregated += any(v.accepted for v in outcome.verdicts)
        accuracies.append(evaluate_weights(spec, weights, setup.validation, device="cpu")[0])
        for i, (v, wei) in enumerate(zip(outcome.verdicts, outcome.rewards, strict=True)):
            rewards[i] += wei
            if i >= n - k:
                verdicts[v.reason or "accepted"] += 1
            elif not v.accepted:
                honest_rejected += 1
    total = sum(rewards)
    return Run(rule, params, attack, k, accuracies[-1], accuracies, aggregated, rewards,
               sum(rewards[n - k:]) / total if total else 0.0, dict(verdicts), dict(checks),
               honest_rejected,
               time.perf_counter() - start)


def _new_global(spec: ModelSpec, base: torch.Tensor,
                aggregate: torch.Tensor) -> dict[str, torch.Tensor]:
    # As the aggregator stores it: base + aggregate in float64, then float32.
    return unflatten((base.to(torch.float64) + aggregate.to(torch.float64)).to(torch.float32), spec)


def _attacked_delta(spec: ModelSpec, weights: Mapping[str, torch.Tensor], setup: Setup,
                    attack: str, k: int, r: int, i: int,
                    honest: Sequence[Mapping[str, torch.Tensor]],
                    revealed: bytes | None) -> dict[str, torch.Tensor]:
    if attack == "copycat" and revealed is None:
        attack = "free_rider"  # round 1: nothing revealed yet, so the copycat sends zeros
    context = AttackContext(
        peer_deltas=list(honest) if attack in OMNISCIENT else [], revealed_update=revealed,
        num_trainers=setup.trainers, num_malicious=k, seed=seed_of(r, i))
    return train_local(spec, weights, setup.shards[i], device="cpu", seed=seed_of(r, i),
                       attack=attacks.get(attack), context=context).delta


# -- the grid ----------------------------------------------------------------------------------


def grid(quick: bool, rule_names: Sequence[str], attack_names: Sequence[str],
         fractions: Sequence[int], trainers: int) -> list[Cell]:
    """Cells to run: per rule its clean run, then (attack, malicious count) pairs."""
    cells: list[Cell] = []
    for rule in rule_names:
        if not quick or rule == DEFAULT_RULE:
            pairs = [(a, p) for a in attack_names for p in fractions]
        else:
            pairs = [(a, p) for a in attack_names if a == "sign_flip" for p in fractions
                     if p == max(FRACTIONS)]
        if pairs:
            cells.append((rule, None, 0))
            cells += [(rule, a, malicious_count(p, trainers)) for a, p in pairs]
    return cells


_WORKER: tuple[Setup, DeltaCache] | None = None


def _init_worker(trainers: int, rounds: int) -> None:
    global _WORKER
    # One thread per process: these models are tiny and the machine is shared (and CPU training
    # is bit-reproducible only at a fixed thread count).
    torch.set_num_threads(1)
    _WORKER = (make_setup(trainers, rounds), DeltaCache())


def _run_cell(cell: Cell) -> Run:
    assert _WORKER is not None
    setup, cache = _WORKER
    return simulate(setup, *cell, cache)


def run_grid(cells: Sequence[Cell], trainers: int, rounds: int, workers: int) -> list[Run]:
    """Simulate every cell, in ``workers`` processes (in this one if 1)."""
    if workers <= 1:
        _init_worker(trainers, rounds)
        return [_run_cell(c) for c in cells]
    with ProcessPoolExecutor(workers, initializer=_init_worker,
                             initargs=(trainers, rounds)) as pool:
        return list(pool.map(_run_cell, cells))


def summarize(runs: Sequence[Run], trainers: int) -> list[dict[str, Any]]:
    """One row per attacked run, with its clean run's accuracy and the target check."""
    clean = {r.rule: r for r in runs if r.attack is None}
    rows = []
    for run in runs:
        if run.attack is None:
            continue
        drop = 100 * (clean[run.rule].accuracy - run.accuracy)
        rows.append({
            **asdict(run), "rewards_wei": [str(w) for w in run.rewards_wei],
            "percent": round(100 * run.malicious / trainers),
            "clean_accuracy": clean[run.rule].accuracy, "accuracy_drop": round(drop, 2),
            "meets_target": drop <= TARGET_DROP and run.malicious_share <= TARGET_SHARE,
        })
    return rows


def target_status(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The issue's target: default rule, every attack at 30%."""
    at30 = [r for r in rows if r["rule"] == DEFAULT_RULE and r["percent"] == max(FRACTIONS)]
    missed = sorted(r["attack"] for r in at30 if not r["meets_target"])
    return {"rule": DEFAULT_RULE, "percent": max(FRACTIONS), "max_accuracy_drop": TARGET_DROP,
            "max_malicious_share": TARGET_SHARE, "checked": sorted(r["attack"] for r in at30),
            "missed": missed, "met": bool(at30) and not missed}


# -- output ------------------------------------------------------------------------------------


def _cell(row: dict[str, Any], rounds: int) -> str:
    text = (f"{100 * row['accuracy']:.1f} ({-row['accuracy_drop']:+.1f}) · "
            f"{100 * row['malicious_share']:.1f}%")
    if row["aggregated_rounds"] < rounds:
        text += f" [{row['aggregated_rounds']}/{rounds}]"
    return text if row["meets_target"] else f"**{text}** ✗"


def markdown(runs: Sequence[Run], rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results as a markdown table with a legend and the target line."""
    rounds, clean = meta["rounds"], {r.rule: r for r in runs if r.attack is None}
    lines = [
        f"Digits, {meta['trainers']} trainers (Dirichlet α=0.5), {rounds} rounds of 5 local "
        f"epochs, GTG-Shapley on the owner's validation data; the owner plans for "
        f"f={meta['owner_f']}. Cell: final accuracy % (points vs. clean) · malicious share of "
        f"rewards; [a/{rounds}] = only a rounds aggregated; ✗ = misses the target "
        f"(≤ {TARGET_DROP:g} points, ≤ {100 * TARGET_SHARE:g}%).",
        "",
        "| rule | params | attack | clean | " + " | ".join(f"{p}%" for p in FRACTIONS) + " |",
        "|---|---|---|---:|" + "---:|" * len(FRACTIONS),
    ]
    by_key = {(r["rule"], r["attack"], r["percent"]): r for r in rows}
    for rule in dict.fromkeys(r["rule"] for r in rows):
        params = ", ".join(f"{k}={v}" for k, v in clean[rule].rule_params.items()) or "defaults"
        if clean[rule].rule_params.get("f", meta["owner_f"]) < meta["owner_f"]:
            params += f" (most n={meta['trainers']} allows)"
        for attack in dict.fromkeys(r["attack"] for r in rows if r["rule"] == rule):
            cells = [by_key.get((rule, attack, p)) for p in FRACTIONS]
            lines.append(f"| {rule} | {params} | {attack} | {100 * clean[rule].accuracy:.1f} | "
                         + " | ".join(_cell(c, rounds) if c else "" for c in cells) + " |")
    target = meta["target"]
    if target["checked"]:
        verdict = "met" if target["met"] else "missed for " + ", ".join(target["missed"])
        lines += ["", f"Target ({DEFAULT_RULE}, every attack at {target['percent']}%): {verdict}."]
    lines += ["", f"{meta['mode']} grid, {len(runs)} runs in {meta['seconds']:.0f} s "
              f"({meta['workers']} processes, torch {torch.__version__})."]
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    """Accuracy drop and malicious share vs. fraction for the default rule, and every rule at
    the largest fraction; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    default = [r for r in rows if r["rule"] == DEFAULT_RULE]
    for attack in sorted({r["attack"] for r in default}):
        mine = sorted((r for r in default if r["attack"] == attack), key=lambda r: r["percent"])
        xs = [r["percent"] for r in mine]
        axes[0].plot(xs, [r["accuracy_drop"] for r in mine], marker="o", label=attack)
        axes[1].plot(xs, [100 * r["malicious_share"] for r in mine], marker="o", label=attack)
    for ax, limit, label in ((axes[0], TARGET_DROP, "accuracy drop vs. clean (points)"),
                             (axes[1], 100 * TARGET_SHARE, "malicious share of rewards (%)")):
        ax.axhline(limit, color="k", linestyle="--", linewidth=1)
        ax.set(xlabel="malicious trainers (%)", ylabel=label, xticks=list(FRACTIONS),
               title=f"{DEFAULT_RULE} (target: below the dashed line)")
        ax.set_yscale("symlog", linthresh=1)
    if default:
        axes[1].legend(fontsize=7)
    top = [r for r in rows if r["percent"] == max(FRACTIONS)]
    rule_names = sorted({r["rule"] for r in top})
    attack_names = sorted({r["attack"] for r in top})
    grid_ = torch.full((len(rule_names), len(attack_names)), float("nan"))
    for r in top:
        grid_[rule_names.index(r["rule"]), attack_names.index(r["attack"])] = r["accuracy_drop"]
    image = axes[2].imshow(grid_.numpy(), cmap="Reds", vmin=0, aspect="auto")
    axes[2].set(xticks=range(len(attack_names)), yticks=range(len(rule_names)),
                title=f"accuracy drop (points) at {max(FRACTIONS)}%")
    axes[2].set_xticklabels(attack_names, rotation=45, ha="right", fontsize=8)
    axes[2].set_yticklabels(rule_names, fontsize=8)
    for y, row in enumerate(grid_.tolist()):
        for x, drop in enumerate(row):
            if not math.isnan(drop):
                axes[2].text(x, y, f"{drop:.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=axes[2])
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid, write ``bench/results/robustness.{md,png}``, print the table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="default rule on every cell, other rules vs sign_flip at 30%%")
    parser.add_argument("--rules", nargs="+", choices=rules.names(), default=rules.names())
    parser.add_argument("--attacks", nargs="+", choices=attacks.names(), default=attacks.names())
    parser.add_argument("--fractions", nargs="+", type=int, choices=FRACTIONS,
                        default=list(FRACTIONS), help="percent malicious")
    parser.add_argument("--trainers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for .md and .png")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    cells = grid(args.quick, args.rules, args.attacks, args.fractions, args.trainers)
    runs = run_grid(cells, args.trainers, args.rounds, args.workers)
    rows = summarize(runs, args.trainers)
    meta = {"mode": "quick" if args.quick else "full", "trainers": args.trainers,
            "rounds": args.rounds, "owner_f": -(-3 * args.trainers // 10),
            "workers": args.workers, "seconds": time.perf_counter() - start,
            "target": target_status(rows)}
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(runs, rows, meta)
    (args.out / "robustness.md").write_text(table)
    plotted = plot(rows, args.out / "robustness.png")
    clean = [{"rule": r.rule, "rule_params": r.rule_params, "accuracy": r.accuracy,
              "round_accuracy": r.round_accuracy} for r in runs if r.attack is None]
    if args.json:
        print(json.dumps({**meta, "clean": clean, "runs": rows, "plot": plotted}, sort_keys=True))
        return 0
    print(table)
    misses = [r for r in rows if r["rule"] == DEFAULT_RULE and not r["meets_target"]]
    for r in misses:
        print(f"miss: {r['attack']} at {r['percent']}%: accuracy {-r['accuracy_drop']:+.1f} "
              f"points, malicious share {100 * r['malicious_share']:.1f}%, "
              f"{r['aggregated_rounds']}/{args.rounds} rounds aggregated; malicious updates: "
              f"checks {r['malicious_validation']}, verdicts {r['malicious_verdicts']}")
    print(f"wrote {args.out / 'robustness.md'}"
          + (f" and {args.out / 'robustness.png'}" if plotted
             else " (plot skipped: matplotlib is not installed)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
