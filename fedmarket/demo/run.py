"""Run the demo market: chain, project, participants, one process per role, payout, report.

The orchestrator only sets the stage (post, register, join, hand each trainer its shard of
data) and watches the chain; the roles themselves are separate processes — ``fedmarket
aggregator run``, ``fedmarket verifier run``, ``fedmarket trainer run`` and, for the malicious
trainers, ``python -m trainer.simulate`` — that talk only through the chain and the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.live import Live
from rich.table import Table

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.localnet import ensure_local_chain
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import ParticipantKind
from fedmarket.config import Settings, load_settings
from fedmarket.datasets import holdout_split, load_data, partition
from fedmarket.demo.config import AGGREGATOR, FIRST_TRAINER, OWNER, VERIFIERS, DemoConfig
from fedmarket.demo.report import build_report
from fedmarket.errors import FedmarketError
from fedmarket.modelspec import TrainingSpec
from fedmarket.owner import MODEL_INPUT_SHAPES, ProjectRequest, post_project
from fedmarket.protocol import project_active
from fedmarket.storage.factory import open_store
from fedmarket.units import ether_to_wei

__all__ = ["run_demo"]

# Measured on the digits split: 5 local Adam epochs reach ~0.8 validation accuracy in 3
# rounds with 8 non-IID trainers, and give updates large enough that Multi-Krum separates
# sign-flipped ones from the first round on (1-2 SGD epochs left them near the origin).
DEMO_TRAINING = TrainingSpec(local_epochs=5, lr=0.01, batch_size=16, optimizer="adam")


@dataclass
class RoleProcess:
    """One role's process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


def _contracts(w3: Any, deployment: Any, index: int) -> MarketContracts:
    return MarketContracts.at(ChainClient(w3, dev_account(index)), deployment)


def _ensure_stake(contracts: MarketContracts, kind: ParticipantKind, amount: int) -> None:
    if contracts.registry.stake_of(kind) == 0:
        contracts.registry.register(kind, amount)


def _spawn(name: str, args: list[str], logs: Path, env: dict[str, str]) -> RoleProcess:
    log = logs / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                   stdin=subprocess.DEVNULL, env=env)
    return RoleProcess(name, process, log)


def _write_shards(config: DemoConfig, folder: Path) -> list[Path]:
    """Each trainer's private data, a non-IID (Dirichlet) share of digits minus the owner's."""
    rest, _ = holdout_split(load_data("digits"), fraction=0.2, seed=0)
    shards = partition(rest, config.trainers, alpha=config.alpha, seed=config.seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, shard in enumerate(shards):
        path = folder / f"trainer-{i}.npz"
        np.savez(path, x=shard.x, y=shard.y)
        paths.append(path)
    return paths


def _status_table(market: Any, project: int, rounds: int, started: float) -> Table:
    info = market.project(project)
    table = Table(title=f"project {project}: {info.status.name.lower()}, "
                        f"{time.monotonic() - started:.0f} s", show_edge=False)
    for column in ("round", "phase", "commits", "reveals", "agree", "disagree"):
        table.add_column(column)
    for r in range(1, min(info.current_round, rounds) + 1):
        ri = market.round(project, r)
        table.add_row(str(r), ri.phase.name.lower(), str(ri.commits), str(ri.reveals),
                      str(ri.agrees), str(ri.disagrees))
    return table


def run_demo(config: DemoConfig, console: Console | None = None,
             show_progress: bool = True) -> dict[str, Any]:
    """Run the whole market once and return the report (see :mod:`fedmarket.demo.report`)."""
    config.validate()
    console = console or Console(stderr=True)
    settings = load_settings({"data_dir": config.data_dir})
    local = ensure_local_chain(settings, config.port)
    w3 = connect(local.node.url)
    store = open_store(settings)
    owner = _contracts(w3, local.deployment, OWNER)
    budget = ether_to_wei(config.budget_ether, "--budget")
    # Verifiers join no project: every round draws its committee from all registered verifiers,
    # so they register first (posting needs a committee's worth). The demo's committee is all
    # of them, so every one re-executes every round.
    for index in VERIFIERS:
        c = _contracts(w3, local.deployment, index)
        _ensure_stake(c, ParticipantKind.VERIFIER, c.registry.min_stake(ParticipantKind.VERIFIER))
    request = ProjectRequest(
        budget_wei=budget, aggregator=dev_account(AGGREGATOR).address, rounds=config.rounds,
        model=config.model, input_shape=MODEL_INPUT_SHAPES[config.model],
        hidden=(64,) if config.model == "mlp" else (16, 32),
        training=DEMO_TRAINING,
        rule="multi_krum", rule_params={"f": config.f}, scoring=config.scoring,
        validation="digits", min_trainers=2 * config.f + 3, max_trainers=config.trainers,
        verifier_quorum=config.quorum, committee_size=len(VERIFIERS),
        commit_duration=config.commit_seconds,
        reveal_duration=config.reveal_seconds, aggregate_duration=config.aggregate_seconds,
        verify_duration=config.verify_seconds)
    posted = post_project(owner, store, request)
    project = posted.project
    console.print(f"posted project {project} ({config.budget_ether} ETH, {config.rounds} rounds, "
                  f"multi_krum f={config.f}, {config.scoring}) on {local.node.url}")

    trainer_ids = [FIRST_TRAINER + i for i in range(config.trainers)]
    behaviours = ["honest"] * (config.trainers - config.malicious) + [config.attack] * \
        config.malicious
    for index in trainer_ids:
        c = _contracts(w3, local.deployment, index)
        _ensure_stake(c, ParticipantKind.TRAINER, c.registry.min_stake(ParticipantKind.TRAINER))
        c.market.join_as_trainer(project)

    workdir = settings.data_dir / "demo" / f"project-{project}"
    shards = _write_shards(config, workdir / "data")
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "-m"]
    common = ["--data-dir", str(settings.data_dir)]
    timeout = str(int(config.timeout))
    processes = [_spawn("aggregator", base + ["fedmarket", "aggregator", "run", str(project),
                                              "--account", str(AGGREGATOR), "--json",
                                              "--timeout", timeout] + common, logs, env)]
    for index in VERIFIERS:
        processes.append(_spawn(f"verifier-{index}", base + [
            "fedmarket", "verifier", "run", "--project", str(project), "--account", str(index),
            "--json", "--timeout", timeout] + common, logs, env))
    for i, index in enumerate(trainer_ids):
        if behaviours[i] == "honest":
            args = base + ["fedmarket", "trainer", "run", str(project), "--data", str(shards[i]),
                           "--account", str(index), "--device", "cpu", "--json",
                           "--timeout", timeout] + common
        else:
            args = base + ["trainer.simulate", str(project), "--data", str(shards[i]),
                           "--account", str(index), "--attack", behaviours[i],
                           "--timeout", timeout] + common
        processes.append(_spawn(f"trainer-{i}", args, logs, env))

    _watch(config, owner, project, processes, console, show_progress)
    return _settle(config, settings, w3, local.deployment, store, owner, project, budget,
                   trainer_ids, behaviours, local.node.url)


def _watch(config: DemoConfig, owner: MarketContracts, project: int,
           processes: list[RoleProcess], console: Console, show_progress: bool) -> None:
    started = time.monotonic()
    market = owner.market
    with Live(console=console, refresh_per_second=2, transient=True,
              auto_refresh=show_progress) as live:
        while True:
            if show_progress:
                live.update(_status_table(market, project, config.rounds, started))
            finished = not project_active(market.project(project))
            crashed = [p for p in processes if p.process.poll() not in (None, 0)]
            if crashed:
                _stop_all(processes)
                tail = crashed[0].log.read_text(errors="replace").strip().splitlines()[-3:]
                raise FedmarketError(f"demo role {crashed[0].name} failed "
                                     f"(log {crashed[0].log}): {' | '.join(tail)}")
            if finished and all(p.process.poll() is not None for p in processes):
                return
            if time.monotonic() - started > config.timeout:
                _stop_all(processes)
                raise FedmarketError(f"demo did not finish within {config.timeout:.0f} s; "
                                     f"logs in {processes[0].log.parent}")
            time.sleep(0.5)


def _stop_all(processes: list[RoleProcess]) -> None:
    for p in processes:
        if p.process.poll() is None:
            p.process.terminate()
    for p in processes:
        try:
            p.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.process.kill()


def _settle(config: DemoConfig, settings: Settings, w3: Any, deployment: Any, store: Any,
            owner: MarketContracts, project: int, budget: int, trainer_ids: list[int],
            behaviours: list[str], url: str) -> dict[str, Any]:
    """Trainers claim, the owner withdraws the refund; then build the report."""
    from fedmarket.rewards_query import claim_rewards

    claimed: dict[str, int] = {}
    for index in trainer_ids:
        c = _contracts(w3, deployment, index)
        paid, _ = claim_rewards(c, store, c.market.contract.client.address, [project])
        claimed[c.market.contract.client.address] = paid
    if owner.market.credit_of() > 0:
        owner.market.withdraw()
    return build_report(owner, store, project, budget, deployment.start_block,
                        [dev_account(i).address for i in trainer_ids], behaviours, claimed, url)
