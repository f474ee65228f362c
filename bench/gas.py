"""Gas of every fedmarket contract call, and how a round's gas scales with the trainer count.

Starts its own anvil (``LocalNode`` on a free port in a temporary folder), deploys, and runs one
round with N = 4, 16 and 64 trainers: register, join, commit, reveal, result, two committee
attestations (of a committee of three drawn from the registry), finalize (settles the votes and
pays the verifier fee), claim. Prints a table of gas per call (mean over the runs), the
aggregator's gas per round (``submitResult`` + ``finalize``: it must not grow with N) and a
trainer's gas per round (``commit`` + ``reveal`` + ``claim``). ``--json`` prints one JSON
object instead.

    .venv/bin/python bench/gas.py [--json] [--trainers 4 16 64]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

from web3 import Web3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedmarket.chain.client import ChainClient, connect, dev_account  # noqa: E402
from fedmarket.chain.deploy import deploy_contracts  # noqa: E402
from fedmarket.chain.market import MarketContracts  # noqa: E402
from fedmarket.chain.node import LocalNode  # noqa: E402
from fedmarket.chain.types import ParticipantKind, ProjectParams, RoundResult  # noqa: E402
from fedmarket.merkle import REWARD_LEAF_ENCODING, StandardMerkleTree  # noqa: E402

ETHER = 10**18
OWNER, AGGREGATOR, VERIFIERS, FIRST_TRAINER = 1, 2, (3, 4, 5), 100  # trainers beyond dev accounts
VOTERS = VERIFIERS[:2]  # two of the committee's three seats settle a round
PHASE = 60  # seconds per phase; the bench travels past the verify window


def _gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


class Bench:
    """One node, one deployment, gas samples by call name."""

    def __init__(self, w3: Web3):
        self.w3 = w3
        self.deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
        self.samples: dict[str, list[int]] = defaultdict(list)
        self.actors: dict[int, MarketContracts] = {}

    def actor(self, i: int) -> MarketContracts:
        if i not in self.actors:
            self.actors[i] = MarketContracts.at(ChainClient(self.w3, dev_account(i)),
                                                self.deployment)
        return self.actors[i]

    def record(self, name: str, receipt: Any) -> int:
        gas = _gas(receipt)
        self.samples[name].append(gas)
        return gas

    def fund(self, indices: list[int]) -> None:
        funder = ChainClient(self.w3, dev_account(0))
        for i in indices:
            funder.transfer(dev_account(i).address, 2 * ETHER)

    def verifiers_ready(self) -> None:
        for v in VERIFIERS:
            registry = self.actor(v).registry
            if registry.stake_of(ParticipantKind.VERIFIER) == 0:
                self.record("ParticipantRegistry.register", registry.register(
                    ParticipantKind.VERIFIER, registry.min_stake(ParticipantKind.VERIFIER)))

    def round_with(self, n: int, first: int) -> dict[str, int]:
        """One single-round project with ``n`` trainers; returns the per-round figures."""
        trainers = list(range(first, first + n))
        self.fund(trainers)
        self.verifiers_ready()
        owner, aggregator = self.actor(OWNER).market, self.actor(AGGREGATOR).market
        params = ProjectParams(
            model_spec_cid="bafkreibenchspec", initial_weights_cid="bafkreibenchweights",
            aggregator=dev_account(AGGREGATOR).address, aggregator_bond_wei=ETHER // 10,
            rounds=1, min_trainers=1, max_trainers=n, verifier_quorum=len(VOTERS),
            committee_size=len(VERIFIERS), verifier_fee_bps=500, commit_duration=PHASE,
            reveal_duration=PHASE, aggregate_duration=PHASE, verify_duration=PHASE)
        budget = ETHER
        project = owner.post_project(params, budget)
        self.samples["FedMarket.postProject"].append(self._last_gas())
        for t in trainers:
            registry = self.actor(t).registry
            self.record("ParticipantRegistry.register", registry.register(
                ParticipantKind.TRAINER, registry.min_stake(ParticipantKind.TRAINER)))
            self.record("FedMarket.joinAsTrainer", self.actor(t).market.join_as_trainer(project))
        self.record("FedMarket.startProject", aggregator.start_project(project, ETHER // 10))
        trainer_gas: dict[int, int] = defaultdict(int)
        for t in trainers:
            salt = Web3.keccak(text=f"bench-{t}")
            trainer_gas[t] += self.record("FedMarket.commit", self.actor(t).market.commit_update(
                project, 1, f"bafkreibenchupdate{t:04d}" + "x" * 36, salt))
        for t in trainers:
            salt = Web3.keccak(text=f"bench-{t}")
            trainer_gas[t] += self.record("FedMarket.reveal", self.actor(t).market.reveal(
                project, 1, f"bafkreibenchupdate{t:04d}" + "x" * 36, salt))
        share = owner.round(project, 1).trainer_pool_wei // (2 * n)
        values = [(project, 1, dev_account(t).address, share) for t in trainers]
        tree = StandardMerkleTree(values, REWARD_LEAF_ENCODING)
        result = RoundResult("bafkreibenchmodel" + "m" * 42, "bafkreibenchresult" + "r" * 41,
                             Web3.keccak(text=f"result-{project}"), tree.root, share * n)
        aggregator_gas = self.record("FedMarket.submitResult",
                                     aggregator.submit_result(project, 1, result))
        for v in VOTERS:
            self.record("FedMarket.attest", self.actor(v).market.attest(
                project, 1, True, "bafkreibenchreport" + "p" * 41))
        deadline = owner.deadlines(project, 1).verify
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        self.w3.provider.make_request("evm_increaseTime", [deadline - now + 1])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        aggregator_gas += self.record("FedMarket.finalize", owner.finalize(project))
        for i, t in enumerate(trainers):
            trainer_gas[t] += self.record("RewardDistributor.claim", self.actor(t).rewards.claim(
                project, 1, share, tree.proof(i)))
        self.record("FedMarket.finish", owner.finish(project))
        self.record("FedMarket.withdraw", owner.contract.transact("withdraw"))
        self.record("FedMarket.withdraw", aggregator.contract.transact("withdraw"))
        for t in trainers[:2]:
            self.record("FedMarket.leave", self.actor(t).market.leave(project))
            self.record("ParticipantRegistry.withdraw", self.actor(t).registry.contract.transact(
                "withdraw", int(ParticipantKind.TRAINER)))
        return {"trainers": n, "aggregator_gas_per_round": aggregator_gas,
                "trainer_gas_per_round_mean": round(mean(trainer_gas.values())),
                "trainer_gas_per_round_max": max(trainer_gas.values())}

    def _last_gas(self) -> int:
        """Gas of the latest transaction (post_project returns the id, not the receipt)."""
        block = self.w3.eth.get_block("latest")
        tx_hash: Any = block["transactions"][-1]
        return _gas(self.w3.eth.get_transaction_receipt(tx_hash))


def run(sizes: list[int]) -> dict[str, Any]:
    """Run the bench on a fresh node; return the figures."""
    with tempfile.TemporaryDirectory(prefix="fedmarket-gas-") as tmp:
        node = LocalNode(Path(tmp))
        node.start()
        try:
            bench = Bench(connect(node.url))
            first = FIRST_TRAINER
            scaling = []
            for n in sizes:
                scaling.append(bench.round_with(n, first))
                first += n
        finally:
            node.stop()
    calls = {name: {"mean": round(mean(g)), "min": min(g), "max": max(g), "samples": len(g)}
             for name, g in sorted(bench.samples.items())}
    return {"calls": calls, "scaling": scaling}


def _table(figures: dict[str, Any]) -> str:
    lines = [f"{'call':<34}{'mean gas':>10}{'min':>10}{'max':>10}{'n':>6}"]
    for name, g in figures["calls"].items():
        lines.append(f"{name:<34}{g['mean']:>10}{g['min']:>10}{g['max']:>10}{g['samples']:>6}")
    lines += ["", f"{'trainers':>8}{'aggregator/round':>18}{'trainer/round (mean)':>22}"
                  f"{'(max)':>10}"]
    for row in figures["scaling"]:
        lines.append(f"{row['trainers']:>8}{row['aggregator_gas_per_round']:>18}"
                     f"{row['trainer_gas_per_round_mean']:>22}"
                     f"{row['trainer_gas_per_round_max']:>10}")
    lines.append("aggregator/round = submitResult + finalize; "
                 "trainer/round = commit + reveal + claim")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trainers", type=int, nargs="+", default=[4, 16, 64],
                        help="trainer counts to run (default 4 16 64)")
    args = parser.parse_args(argv)
    figures = run(args.trainers)
    print(json.dumps(figures, indent=1) if args.json else _table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
