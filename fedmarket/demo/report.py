"""The demo's closing report: per trainer and per round, as JSON and as a table.

Everything is read back from the chain and the store after the run, so the report shows what
the market actually did (and ``refund_wei`` is the escrow the contract returned), not what the
orchestrator intended.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import RoundStatus
from fedmarket.refunds import round_closures
from fedmarket.rewards_query import round_result_of
from fedmarket.round_result import CONTRIBUTION_SCALE
from fedmarket.storage.base import ContentStore
from fedmarket.units import wei_to_ether

__all__ = ["build_report", "print_report"]



def build_report(owner: MarketContracts, store: ContentStore, project: int, budget: int,
                 from_block: int, trainers: list[str], behaviours: list[str],
                 claimed: dict[str, int], url: str) -> dict[str, Any]:
    """The report object (``fedmarket demo --json`` prints it)."""
    market = owner.market
    info = market.project(project)
    per_trainer = {a: {"accepted_rounds": 0, "reward_wei": 0, "contribution": 0.0}
                   for a in trainers}
    rounds = []
    closures = round_closures(market, project, from_block)
    for r in range(1, info.current_round + 1):
        ri = market.round(project, r)
        closure = closures.get(r)
        entry: dict[str, Any] = {"round": r, "status": ri.status.name.lower(),
                                 "verified": ri.status == RoundStatus.FINALIZED,
                                 "proof_verified": ri.proof_verified,
                                 "accuracy": None, "agrees": ri.agrees,
                                 "disagrees": ri.disagrees,
                                 "total_rewarded_wei": str(ri.total_rewarded_wei
                                                           if ri.status == RoundStatus.FINALIZED
                                                           else 0),
                                 "refund_reason": closure.reason if closure else None,
                                 "refund_sentence": closure.sentence if closure else None}
        if ri.result_cid:
            result = round_result_of(store, ri.result_cid, ri.result_hash)
            entry["accuracy"] = result.metrics.get("accuracy")
            for t in result.trainers:
                if t.address in per_trainer and ri.status == RoundStatus.FINALIZED:
                    stats = per_trainer[t.address]
                    stats["accepted_rounds"] += int(t.accepted)
                    stats["reward_wei"] += t.reward
                    stats["contribution"] += t.contribution / CONTRIBUTION_SCALE
        rounds.append(entry)
    refund = market.escrow_returned(project, from_block)
    fees = market.verification_fees(project, from_block)
    return {
        "project": project, "url": url, "status": info.status.name.lower(),
        "budget_wei": str(budget), "refund_wei": str(refund), "verifier_fees_wei": str(fees),
        "trainers": [{"address": a, "behaviour": b,
                      "accepted_rounds": per_trainer[a]["accepted_rounds"],
                      "contribution": round(per_trainer[a]["contribution"], 6),
                      "reward_wei": str(per_trainer[a]["reward_wei"]),
                      "claimed_wei": str(claimed.get(a, 0))}
                     for a, b in zip(trainers, behaviours, strict=True)],
        "rounds": rounds,
    }


def _eth(wei: int) -> str:
    """Ether with 6 decimals for tables (the JSON report keeps exact wei)."""
    return f"{wei / 10**18:.6f}"


def print_report(report: dict[str, Any], console: Console) -> None:
    """Print the report as two tables and the money balance line."""
    people = Table(title=f"project {report['project']}: trainers (contribution = summed "
                         "fixed-point scores)", show_edge=False)
    for column in ("trainer", "behaviour", "accepted", "contribution", "reward (ETH)",
                   "claimed (ETH)"):
        people.add_column(column, justify="right" if column != "behaviour" else "left")
    for t in report["trainers"]:
        style = None if t["behaviour"] == "honest" else "red"
        people.add_row(t["address"][:10] + "…", t["behaviour"], str(t["accepted_rounds"]),
                       f"{t['contribution']:.4f}", _eth(int(t["reward_wei"])),
                       _eth(int(t["claimed_wei"])), style=style)
    console.print(people)
    rounds = Table(title="rounds", show_edge=False)
    for column in ("round", "status", "accuracy", "verifiers agree/disagree", "zk proof",
                   "paid (ETH)"):
        rounds.add_column(column, justify="right")
    for r in report["rounds"]:
        accuracy = f"{r['accuracy']:.3f}" if r["accuracy"] is not None else "-"
        rounds.add_row(str(r["round"]), r["status"], accuracy,
                       f"{r['agrees']}/{r['disagrees']}",
                       "verified" if r["proof_verified"] else "none",
                       _eth(int(r["total_rewarded_wei"])))
    console.print(rounds)
    for r in report["rounds"]:
        if r["refund_sentence"]:
            console.print(f"round {r['round']} paid nothing ({r['refund_reason']}): "
                          f"{r['refund_sentence']}", highlight=False)
    paid = sum(int(t["claimed_wei"]) for t in report["trainers"])
    console.print(f"budget {wei_to_ether(int(report['budget_wei']))} ETH = paid to trainers "
                  f"{wei_to_ether(paid)} ETH + verifier fees "
                  f"{wei_to_ether(int(report['verifier_fees_wei']))} ETH + refunded to the owner "
                  f"{wei_to_ether(int(report['refund_wei']))} ETH", highlight=False)
