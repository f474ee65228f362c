"""Robustness: every attack against the old and the new default pipeline, ratios to the clean run.

    .venv/bin/python bench/robustness.py              # 2 seeds x (IID, Dirichlet 0.5), 30 %
    .venv/bin/python bench/robustness.py --json       # one JSON object instead of the table
    .venv/bin/python bench/robustness.py --pipelines new --attacks min_max --seeds 0

In process through the real round computation (:mod:`trainer.federation`): bundled digits, 20 %
held out by the owner (scoring and the reference update), 20 % of the rest as a test split for
the reported accuracy, the rest among 10 parties; 3 rounds of 5 local Adam epochs. Pipelines:
``old`` = Multi-Krum (f = 3) + GTG-Shapley (the default before issue 14), ``new`` = ``trusted`` +
``group_shapley`` (the default with validation data). Parties 7..9 attack (30 %; ``--fractions``),
with full knowledge of the round's honest updates where the attack uses them; ``sybil`` is
party 9 alone as 3 accounts (small noise each), ``inflated`` parties 7..9 honest but declaring
10x their samples, ``copycat`` resubmits last round's revealed honest updates.

Per cell: final test accuracy and its ratio to the clean run of the same pipeline, seed and
split (measured in this same invocation); attackers' reward share and its ratio to what the
same parties earn honestly in that clean run; honest updates in the model per round and the
ratio to the clean run's count for the same honest parties; backdoor success (triggered test
images of other classes classified as 0) for the backdoor.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, and bench/trainer.py would
# shadow the `trainer` package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

from aggregator.round import RoundSpec  # noqa: E402
from fedmarket.datasets import load_data  # noqa: E402
from fedmarket.evaluation import evaluate_weights  # noqa: E402
from trainer import attacks  # noqa: E402
from trainer import federation as fed_api  # noqa: E402
from trainer.attacks.backdoor import triggered  # noqa: E402

PIPELINES: dict[str, RoundSpec] = {"old": fed_api.old_default_round_spec(3),
                                   "new": fed_api.default_round_spec()}
BEHAVIOURS = ("sybil", "inflated", "copycat")  # not delta transformations
ATTACKS = tuple(a for a in attacks.names() if a != "copycat") + BEHAVIOURS
SPLITS = {"iid": None, "dir0.5": 0.5}
PARTIES = 10
RESULTS = Path(__file__).resolve().parent / "results"

Group = tuple[int, str, str, tuple[str, ...], int, int]  # seed, split, pipeline, attacks, k, R


def attackers(attack: str, k: int) -> list[int]:
    """Attacking parties: the last ``k``; a Sybil is one party."""
    return [PARTIES - 1] if attack == "sybil" else list(range(PARTIES - k, PARTIES))


def behaviours(attack: str, k: int) -> dict[int, fed_api.Behaviour]:
    """Each attacking party's behaviour."""
    bad = attackers(attack, k)
    if attack == "sybil":
        return {bad[0]: fed_api.sybil(accounts=3, noise=0.01)}
    if attack == "inflated":
        return dict.fromkeys(bad, fed_api.inflated(10))
    if attack == "copycat":
        return dict.fromkeys(bad, fed_api.copycat(noise=0.01))
    return {i: fed_api.from_attack(attacks.get(attack)) for i in bad}


def run_group(group: Group) -> list[dict[str, Any]]:
    """The clean run and every attack of one (seed, split, pipeline): one federation, one cache."""
    torch.set_num_threads(1)  # tiny models, shared machine, bitwise reproducible
    seed, split, pipeline, names, k, rounds = group
    fed = fed_api.federation(load_data("digits"), PARTIES, alpha=SPLITS[split], seed=seed)
    spec = PIPELINES[pipeline]
    trigger = triggered(fed.test)
    start = time.perf_counter()
    clean = fed_api.run(fed, spec, rounds=rounds)
    rows = [_row(fed, trigger, seed, split, pipeline, None, [], clean, clean, start)]
    for attack in names:
        start = time.perf_counter()
        bad = attackers(attack, k)
        result = fed_api.run(fed, spec, behaviours(attack, k), rounds=rounds)
        rows.append(_row(fed, trigger, seed, split, pipeline, attack, bad, result, clean, start))
    return rows


def _row(fed: fed_api.Federation, trigger: Any, seed: int, split: str, pipeline: str,
         attack: str | None, bad: list[int], result: fed_api.FederationResult,
         clean: fed_api.FederationResult, start: float) -> dict[str, Any]:
    honest_clean = clean.honest_in_model(bad)
    honest_share = clean.share(bad)
    backdoor = evaluate_weights(fed.spec, result.weights, trigger, device="cpu")[0]
    return {
        "seed": seed, "split": split, "pipeline": pipeline, "attack": attack or "clean",
        "attackers": bad, "accuracy": result.accuracy, "clean_accuracy": clean.accuracy,
        "accuracy_ratio": result.accuracy / clean.accuracy,
        "malicious_share": result.share(bad), "honest_share_of_attackers": honest_share,
        "share_ratio": result.share(bad) / honest_share if honest_share else None,
        "honest_in_model": result.honest_in_model(bad),
        "honest_in_model_ratio": (result.honest_in_model(bad) / honest_clean
                                  if honest_clean else None),
        "backdoor_success": backdoor,
        "rewards_wei": [str(w) for w in result.rewards],
        "seconds": round(time.perf_counter() - start, 2),
    }


def run_all(groups: Sequence[Group], workers: int) -> list[dict[str, Any]]:
    """Every group, in ``workers`` processes (in this one if 1)."""
    if workers <= 1:
        return [row for g in groups for row in run_group(g)]
    with ProcessPoolExecutor(workers) as pool:
        return [row for rows in pool.map(run_group, groups) for row in rows]


def summary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (attack, split, pipeline): means over seeds, and the worst seed."""
    keys = dict.fromkeys((r["attack"], r["split"], r["pipeline"]) for r in rows)
    out = []
    for attack, split, pipeline in keys:
        mine = [r for r in rows if (r["attack"], r["split"], r["pipeline"])
                == (attack, split, pipeline)]
        ratios = [r["share_ratio"] for r in mine if r["share_ratio"] is not None]
        out.append({
            "attack": attack, "split": split, "pipeline": pipeline, "seeds": len(mine),
            "accuracy": statistics.mean(r["accuracy"] for r in mine),
            "accuracy_ratio": statistics.mean(r["accuracy_ratio"] for r in mine),
            "worst_accuracy_ratio": min(r["accuracy_ratio"] for r in mine),
            "malicious_share": statistics.mean(r["malicious_share"] for r in mine),
            "worst_malicious_share": max(r["malicious_share"] for r in mine),
            "share_ratio": statistics.mean(ratios) if ratios else None,
            "honest_in_model": statistics.mean(r["honest_in_model"] for r in mine),
            "honest_in_model_ratio": statistics.mean(
                r["honest_in_model_ratio"] or 0.0 for r in mine),
            "backdoor_success": statistics.mean(r["backdoor_success"] for r in mine),
        })
    return out


def _cell(s: dict[str, Any] | None, attack: str) -> str:
    if s is None:
        return ""
    text = f"{100 * s['accuracy']:.1f} ({s['accuracy_ratio']:.3f})"
    if attack != "clean":
        ratio = "" if s["share_ratio"] is None else f" ({s['share_ratio']:.2f})"
        text += f" · {100 * s['malicious_share']:.1f}%{ratio}"
    text += f" · {s['honest_in_model']:.1f} ({s['honest_in_model_ratio']:.2f})"
    if attack == "backdoor":
        text += f" · bd {100 * s['backdoor_success']:.0f}%"
    return text


def markdown(summ: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """One table per split: attack x pipeline."""
    pipelines = list(dict.fromkeys(s["pipeline"] for s in summ))
    by = {(s["attack"], s["split"], s["pipeline"]): s for s in summ}
    lines = [
        f"Digits, {PARTIES} parties, {meta['rounds']} rounds, seeds {meta['seeds']}, attackers "
        f"{meta['malicious']} of {PARTIES} (a Sybil: 1 party as 3 accounts). Cell, means over "
        "seeds: test accuracy % (ratio to the clean run) · attackers' reward share (ratio to "
        "their honest share in the clean run) · honest updates in the model per round (ratio "
        "to clean) · backdoor success. old = multi_krum f=3 + gtg_shapley, new = trusted + "
        "group_shapley.", ""]
    for split in dict.fromkeys(s["split"] for s in summ):
        lines += [f"**{split}**", "", "| attack | " + " | ".join(pipelines) + " |",
                  "|---|" + "---|" * len(pipelines)]
        for attack in dict.fromkeys(s["attack"] for s in summ):
            cells = [_cell(by.get((attack, split, p)), attack) for p in pipelines]
            lines.append(f"| {attack} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(f"{len(meta['groups'])} groups in {meta['seconds']:.0f} s, {meta['workers']} "
                 f"processes, {meta['machine']}, torch {torch.__version__}.")
    return "\n".join(lines) + "\n"


def machine() -> str:
    """The CPU model (``lscpu``'s Model name), else the platform's processor string."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or platform.machine()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid, write ``bench/results/robustness.md``, print the table or one JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", nargs="+", choices=sorted(PIPELINES),
                        default=["old", "new"])
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS))
    parser.add_argument("--splits", nargs="+", choices=sorted(SPLITS), default=list(SPLITS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--fractions", type=int, default=30, help="percent malicious")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the .md table")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    k = round(args.fractions * PARTIES / 100)
    groups: list[Group] = [(seed, split, p, tuple(args.attacks), k, args.rounds)
                           for seed in args.seeds for split in args.splits
                           for p in args.pipelines]
    rows = run_all(groups, args.workers)
    summ = summary(rows)
    meta = {"rounds": args.rounds, "seeds": args.seeds, "malicious": k,
            "workers": args.workers, "groups": [list(g[:3]) for g in groups],
            "machine": machine(), "seconds": time.perf_counter() - start}
    table = markdown(summ, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "robustness.md").write_text(table)
    if args.json:
        print(json.dumps({**meta, "summary": summ, "runs": rows}, sort_keys=True))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
