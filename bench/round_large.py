"""One whole market round of a large model, its wall time split by phase.

    .venv/bin/python bench/round_large.py                      # D = 100M, 3 trainers
    .venv/bin/python bench/round_large.py --dim 1e7 --compression int8 --json

Through the real code, on a real anvil with the compiled contracts (``fedmarket.chain.compile``
first), in one process as ``tests/e2e/market.py`` drives a market: deploy, register, post a
project of an MLP of ``--dim`` parameters (input 1000, one hidden layer, 10 classes; the default
pipeline ``trusted`` + ``group_shapley`` on 64 owner validation samples), three trainers join
with 32 random samples each, then one round: every trainer fetches the global model, trains one
local step (SGD, batch = its 32 samples), encodes and stores its update and commits; reveals;
the aggregator gathers (fetch + decode into the ``[N, D]`` stack), aggregates and scores, stores
the new model and posts the result; two of the committee's three verifiers re-execute it and
attest; the aggregator finalizes. The chain clock is moved past each deadline (no waiting).

Phases are timed by wrapping the very functions the roles call, each counting only its own time
(a nested phase is taken out of its caller's): training (``train_local``), upload (update and
new-model encode + store), download (global model fetch, ``gather_round``), aggregation +
scoring (``compute_outcome`` less its download and upload), verification (all of each
verifier's step: its own download, recomputation and comparison, and its attestation), chain
(what is left of every role's step: transactions, reading chain state, pending-reveal files).
The market's share is everything but training. All roles share one local store on disk, so
upload and download are encode/decode and disk, not a network. Verifiers run one after the
other here; on separate machines they run in parallel, so the table also gives one verifier's
time. Peak resident memory (VmHWM) of the whole process is printed.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ETHER = 10**18
OWNER, AGGREGATOR, VERIFIERS, FIRST_TRAINER = 1, 2, (3, 4, 5), 6
TRAINERS = 3
SAMPLES = 32  # per trainer: one local step of one batch
VALIDATION = 64
WINDOW = 3600  # seconds per phase: far above any step here; the clock is moved past them
PHASES = ("training", "upload", "download", "aggregation + scoring", "verification", "chain")


class Clock:
    """Exclusive wall time per (role, phase): a nested phase is taken out of its caller."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.stack: list[list[Any]] = []  # [role, phase, start, time in children]

    @contextmanager
    def phase(self, phase: str, role: str | None = None) -> Iterator[None]:
        """Time a phase of ``role`` (default: the enclosing one's role)."""
        role = role or (self.stack[-1][0] if self.stack else "setup")
        self.stack.append([role, phase, time.perf_counter(), 0.0])
        try:
            yield
        finally:
            role, phase, start, children = self.stack.pop()
            total = time.perf_counter() - start
            self.seconds[(role, phase)] += total - children
            if self.stack:
                self.stack[-1][3] += total

    def wrap(self, owner: Any, name: str, phase: str, role: str | None = None) -> None:
        """Replace ``owner.name`` by a timed version of itself."""
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(phase, role):
                return inner(*args, **kwargs)

        setattr(owner, name, timed)


def instrument(clock: Clock) -> None:
    """Time the functions each role calls (module attributes, as the roles look them up)."""
    import aggregator.service as agg_service
    import trainer.client as trainer_client
    import verifier.reexecution as reexecution
    import verifier.service as verifier_service

    clock.wrap(trainer_client, "train_local", "training")
    clock.wrap(trainer_client, "load_file", "download")
    clock.wrap(trainer_client.TrainerClient, "_store_update", "upload")
    clock.wrap(agg_service, "gather_round", "download")
    clock.wrap(agg_service, "store_file", "upload")
    clock.wrap(agg_service, "compute_outcome", "aggregation + scoring")
    reexecution.compute_outcome = agg_service.compute_outcome  # the verifier's own re-run
    clock.wrap(trainer_client.TrainerClient, "step", "chain", role="trainers")
    clock.wrap(agg_service.AggregatorService, "step", "chain", role="aggregator")
    clock.wrap(verifier_service.VerifierService, "step", "chain", role="verifiers")


def travel_past(w3: Any, deadline: int) -> None:
    """Move the chain clock just past ``deadline`` (anvil's evm_increaseTime + a block)."""
    now = int(w3.eth.get_block("latest")["timestamp"])
    if deadline - now + 1 > 0:
        w3.provider.make_request("evm_increaseTime", [deadline - now + 1])
        w3.provider.make_request("evm_mine", [])


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_round(dim: int, compression: str, folder: Path, note: Callable[[str], None]
              ) -> dict[str, Any]:
    """Set up a market and play one round; returns the phase times and the round's facts."""
    from aggregator.service import AggregatorService
    from fedmarket.chain.client import ChainClient, connect, dev_account
    from fedmarket.chain.deploy import deploy_contracts
    from fedmarket.chain.market import MarketContracts
    from fedmarket.chain.node import LocalNode
    from fedmarket.chain.types import ParticipantKind, RoundStatus
    from fedmarket.compression_spec import Compression
    from fedmarket.datasets import Dataset
    from fedmarket.modelspec import TrainingSpec
    from fedmarket.owner import ProjectRequest, post_project
    from fedmarket.storage.local import LocalStore
    from trainer.client import TrainerClient
    from verifier.service import VerifierService

    clock = Clock()
    instrument(clock)
    node = LocalNode(folder / "anvil")
    node.start()
    try:
        started = time.perf_counter()
        w3 = connect(node.url)
        deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
        store = LocalStore(folder / "store", fsync=False)

        def contracts(index: int) -> MarketContracts:
            return MarketContracts.at(ChainClient(w3, dev_account(index)), deployment)

        for index in VERIFIERS:
            contracts(index).registry.register(ParticipantKind.VERIFIER, ETHER // 2)
        rng = np.random.default_rng(0)
        np.savez(folder / "validation.npz", x=rng.random((VALIDATION, 1000), dtype=np.float32),
                 y=rng.integers(0, 10, VALIDATION))
        request = ProjectRequest(
            budget_wei=3 * ETHER, aggregator=dev_account(AGGREGATOR).address, rounds=1,
            model="mlp", hidden=(max(1, dim // 1011),), input_shape=(1000,), num_classes=10,
            training=TrainingSpec(local_epochs=1, batch_size=SAMPLES, lr=0.01, optimizer="sgd"),
            validation=str(folder / "validation.npz"), min_trainers=TRAINERS,
            verifier_quorum=2, committee_size=len(VERIFIERS), commit_duration=WINDOW,
            reveal_duration=WINDOW, aggregate_duration=WINDOW, verify_duration=WINDOW,
            compression=Compression(compression, 0.1))
        owner = contracts(OWNER)
        posted = post_project(owner, store, request)
        project = posted.project
        verifiers = [VerifierService(contracts(i), store, deployment.start_block)
                     for i in VERIFIERS]
        trainers = []
        for i in range(TRAINERS):
            c = contracts(FIRST_TRAINER + i)
            c.registry.register(ParticipantKind.TRAINER, ETHER // 10)
            c.market.join_as_trainer(project)
            data = Dataset(rng.random((SAMPLES, 1000), dtype=np.float32),
                           rng.integers(0, 10, SAMPLES), f"random-{i}")
            trainers.append(TrainerClient(c, store, data, folder / f"pending-{i}", device="cpu"))
        aggregator = AggregatorService(contracts(AGGREGATOR), store, deployment.start_block)
        aggregator.start(project)
        setup = time.perf_counter() - started
        note(f"set up in {setup:.1f} s: project {project}, {posted.spec.num_params():,} "
             f"parameters, peak {peak_mb():.0f} MB")
        clock.seconds.clear()

        def current() -> Any:
            market = owner.market
            return market.round(project, market.project(project).current_round)

        round_started = time.perf_counter()
        info = current()
        for trainer in trainers:
            assert trainer.step(project) is True
        travel_past(w3, info.deadlines.commit)
        for trainer in trainers:
            trainer.step(project)
        travel_past(w3, info.deadlines.reveal)
        note(f"trainers done at {time.perf_counter() - round_started:.1f} s, "
             f"peak {peak_mb():.0f} MB")
        assert aggregator.step(project)
        note(f"result posted at {time.perf_counter() - round_started:.1f} s, "
             f"peak {peak_mb():.0f} MB")
        for verifier in verifiers[:2]:
            assert verifier.step(project)
        travel_past(w3, current().deadlines.verify)
        assert aggregator.step(project)
        wall = time.perf_counter() - round_started
        final = owner.market.round(project, 1)
        if final.status != RoundStatus.FINALIZED:
            raise RuntimeError(f"the round ended {final.status.name}, not FINALIZED")
        update_bytes = []
        for reveal in owner.market.revealed_updates(project, 1,
                                                    from_block=deployment.start_block):
            update_bytes.append(sum(len(chunk) for chunk in store.iter(reveal.cid)))
        return {"dim": posted.spec.num_params(), "compression": compression,
                "trainers": TRAINERS, "verifiers_run": 2, "setup_s": setup, "round_wall_s": wall,
                "update_bytes": update_bytes, "peak_mb": peak_mb(),
                "agrees": final.agrees, "disagrees": final.disagrees,
                "seconds": {f"{r}/{p}": s for (r, p), s in sorted(clock.seconds.items())}}
    finally:
        node.stop()


def summarise(result: dict[str, Any]) -> dict[str, float]:
    """Seconds per phase of the table (verification: everything the verifiers did)."""
    rows = dict.fromkeys(PHASES, 0.0)
    for key, seconds in result["seconds"].items():
        role, phase = key.split("/", 1)
        rows["verification" if role == "verifiers" else phase] += seconds
    return rows


def machine() -> str:
    """The CPU's model name (lscpu), cores and memory."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or platform.machine()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", default="1e8", help="parameters of the model (about)")
    parser.add_argument("--compression", default="none", choices=("none", "int8", "topk"),
                        help="the project's update compression (topk: fraction 0.1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    def note(message: str) -> None:
        print(f"  {message}", file=sys.stderr)

    with tempfile.TemporaryDirectory() as folder:
        result = run_round(int(float(args.dim)), args.compression, Path(folder), note)
    rows = summarise(result)
    total = sum(rows.values())
    result.update(machine=machine(), phases=rows, total_s=total,
                  market_share=(total - rows["training"]) / total if total else 0.0)
    if args.json:
        print(json.dumps(result))
        return
    print(f"one round, D = {result['dim']:,}, {TRAINERS} trainers, compression "
          f"{args.compression}, {result['machine']}")
    print(f"{'phase':<24} {'seconds':>9} {'share':>7}")
    for phase, seconds in rows.items():
        print(f"{phase:<24} {seconds:9.1f} {seconds / total:7.1%}")
    print(f"{'total':<24} {total:9.1f}   (round wall {result['round_wall_s']:.1f} s, setup "
          f"{result['setup_s']:.1f} s not counted)")
    print(f"market share (all but training): {result['market_share']:.1%}; one verifier "
          f"{rows['verification'] / result['verifiers_run']:.1f} s; update file "
          f"{result['update_bytes'][0] / 2**20:.0f} MiB; peak memory {result['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
