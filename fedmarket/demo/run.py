"""Run the demo market: chain, project, participants, one process per role, payout, report.

The orchestrator only sets the stage (post, register, join, hand each trainer its shard of
data) and watches the chain; the roles themselves are separate processes — ``fedmarket
aggregator run``, ``fedmarket verifier run``, ``fedmarket trainer run`` and, for the malicious
trainers, ``python -m trainer.simulate`` — that talk only through the chain and the store.

Verifiers and trainers start first; the aggregator, whose start opens round 1, is launched
only once every one of them wrote its ready file, so no phase window is spent on a role that
is still importing torch (6 s per process on an idle 2-core machine, 19 s under load).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.live import Live
from rich.table import Table

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.localnet import ensure_local_chain
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.node import LocalNode
from fedmarket.chain.types import ParticipantKind
from fedmarket.config import Settings, load_settings
from fedmarket.datasets import Dataset, holdout_split, load_data, partition
from fedmarket.demo.config import (
    AGGREGATOR,
    FIRST_TRAINER,
    OWNER,
    VERIFIERS,
    DemoConfig,
    PhaseWindows,
)
from fedmarket.demo.processes import DemoProcesses, RoleProcess
from fedmarket.demo.report import build_report
from fedmarket.demo.windows import MeasuredWork, measure_work, size_windows
from fedmarket.errors import FedmarketError
from fedmarket.examples import get_example
from fedmarket.examples.base import ExampleSplit
from fedmarket.owner import build_spec, owner_validation, post_project
from fedmarket.protocol import project_active
from fedmarket.storage.factory import open_store

__all__ = ["run_demo"]



def _contracts(w3: Any, deployment: Any, index: int) -> MarketContracts:
    return MarketContracts.at(ChainClient(w3, dev_account(index)), deployment)


def _ensure_stake(contracts: MarketContracts, kind: ParticipantKind, amount: int) -> None:
    if contracts.registry.stake_of(kind) == 0:
        contracts.registry.register(kind, amount)


def _enlist_verifiers(w3: Any, deployment: Any) -> None:
    """Stake each demo verifier in the registry, before the project is posted.

    Verifiers join no project: each round's committee is drawn from every registered verifier
    (posting needs a committee's worth). The demo's committee is all three of them.
    """
    for index in VERIFIERS:
        c = _contracts(w3, deployment, index)
        _ensure_stake(c, ParticipantKind.VERIFIER, c.registry.min_stake(ParticipantKind.VERIFIER))


def _shards(config: DemoConfig) -> list[Dataset]:
    """Each trainer's private data, a non-IID (Dirichlet) share of digits minus the owner's."""
    rest, _ = holdout_split(load_data("digits"), fraction=0.2, seed=0)
    return partition(rest, config.trainers, alpha=config.alpha, seed=config.seed)


def _example_split(config: DemoConfig, settings: Settings) -> ExampleSplit:
    """An example's files: the owner's validation part and each trainer's non-IID share.

    Written before posting (the owner posts from its file) in the example's own format, which
    the owner's and every trainer's processes then read as real parties would.
    """
    folder = settings.data_dir / "demo" / f"example-{config.example}-{time.time_ns()}"
    return get_example(config.example).split(config.trainers, folder, seed=config.seed,
                                              alpha=config.alpha)


def _write_shards(shards: list[Dataset], folder: Path) -> list[Path]:
    """One npz file per trainer (``x``, ``y``), the form ``trainer run --data`` reads."""
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
    """Run the whole market once and return the report (see :mod:`fedmarket.demo.report`).

    Every option is checked before anything starts. However the run ends, the role processes
    are stopped, and so is the node if this run started it — except after a successful run,
    which leaves the node up so ``fedmarket api serve`` can show the project.
    """
    config.validate()
    console = console or Console(stderr=True)
    settings = load_settings({"data_dir": config.data_dir})
    processes = DemoProcesses()
    try:
        report = _run(config, settings, processes, console, show_progress)
    except BaseException:  # Ctrl-C and SIGTERM included: leave nothing running behind
        processes.stop()
        raise
    processes.stop(keep_node=True)
    return report


def _run(config: DemoConfig, settings: Settings, processes: DemoProcesses, console: Console,
         show_progress: bool) -> dict[str, Any]:
    if LocalNode(settings.chain_dir).running_info() is None:
        processes.node = LocalNode(settings.chain_dir)  # ours to stop if the run fails
    local = ensure_local_chain(settings, config.port)
    w3 = connect(local.node.url)
    store = open_store(settings)
    owner = _contracts(w3, local.deployment, OWNER)
    split = _example_split(config, settings) if config.example != "digits" else None
    data = [s.dataset for s in split.shards] if split else _shards(config)
    validation = split.validation.dataset if split else owner_validation("digits")
    windows, measured = _windows(config, owner, data, validation, console)
    _enlist_verifiers(w3, local.deployment)
    pretrain = get_example(config.example).pretrain if split else None
    base_file = (str(pretrain(split.validation_path.parent / "base.safetensors"))
                 if split and pretrain else None)  # a LoRA example: the owner pre-trains
    posted = post_project(owner, store, config.project_request(
        windows, str(split.validation_path) if split else "digits", base_file))
    project = posted.project
    spec = posted.spec
    console.print(f"example {config.example}: {spec.model} on {spec.input_kind} "
                  f"{'x'.join(map(str, spec.input_shape))}, {spec.num_classes} classes, "
                  f"{spec.num_params():,} parameters", highlight=False)
    console.print(f"posted project {project} ({config.budget_ether} ETH, {config.rounds} rounds, "
                  f"{config.describe_pipeline}) on {local.node.url}; windows "
                  f"commit {windows.commit} s, reveal {windows.reveal} s, aggregate "
                  f"{windows.aggregate} s, verify {windows.verify} s", highlight=False)

    trainer_ids = [FIRST_TRAINER + i for i in range(config.trainers)]
    behaviours = ["honest"] * (config.trainers - config.malicious) + [config.attack] * \
        config.malicious
    for index in trainer_ids:
        c = _contracts(w3, local.deployment, index)
        _ensure_stake(c, ParticipantKind.TRAINER, c.registry.min_stake(ParticipantKind.TRAINER))
        c.market.join_as_trainer(project)

    workdir = settings.data_dir / "demo" / f"project-{project}"
    shards = split.shard_paths if split else _write_shards(data, workdir / "data")
    processes.logs = workdir / "logs"
    processes.logs.mkdir(parents=True, exist_ok=True)
    processes.env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "PYTHONUNBUFFERED": "1"}
    deadline = time.monotonic() + config.timeout
    _spawn_roles(config, settings, processes, project, shards, behaviours, trainer_ids)
    _wait_ready(processes.roles, deadline, console)
    base = [sys.executable, "-m", "fedmarket"]
    processes.spawn("aggregator", base + [
        "aggregator", "run", str(project), "--account", str(AGGREGATOR), "--json",
        "--timeout", str(int(config.timeout)), "--data-dir", str(settings.data_dir)])
    _watch(config, owner, project, processes.roles, deadline, console, show_progress)
    report = _settle(w3, local.deployment, store, owner, project, config.budget_wei,
                     trainer_ids, behaviours, local.node.url)
    report["example"] = config.example
    report["task"] = {"model": spec.model, "input_kind": spec.input_kind,
                      "input_shape": list(spec.input_shape), "num_classes": spec.num_classes,
                      "num_params": spec.num_params()}
    report["windows"] = asdict(windows)
    report["measured"] = asdict(measured) if measured is not None else None
    return report


def _windows(config: DemoConfig, owner: MarketContracts, shards: list[Dataset],
             validation: Dataset, console: Console) -> tuple[PhaseWindows, MeasuredWork | None]:
    """The configured windows, or ones sized from work measured now (:mod:`.windows`)."""
    if config.windows is not None:
        return config.windows, None
    console.print("sizing the phase windows: timing one local training and one round "
                  "computation on this machine...", highlight=False)
    spec = build_spec(config.project_request(PhaseWindows(1, 1, 1, 1)),
                      validation_cid="validation")
    work = measure_work(spec, shards, validation, seed=config.seed)
    windows = size_windows(work, config.trainers, len(VERIFIERS),
                           owner.market.min_phase_duration())
    console.print(f"measured training {work.train_seconds:.1f} s, round computation "
                  f"{work.compute_seconds:.1f} s ({work.cores} cores)", highlight=False)
    return windows, work


def _spawn_roles(config: DemoConfig, settings: Settings, processes: DemoProcesses,
                 project: int, shards: list[Path], behaviours: list[str],
                 trainer_ids: list[int]) -> None:
    """Start every verifier and trainer (not the aggregator: its start opens round 1)."""
    common = ["--data-dir", str(settings.data_dir), "--timeout", str(int(config.timeout))]
    for index in VERIFIERS:
        processes.spawn(f"verifier-{index}", [
            sys.executable, "-m", "fedmarket", "verifier", "run", "--project", str(project),
            "--account", str(index), "--json"] + common)
    for i, index in enumerate(trainer_ids):
        if behaviours[i] == "honest":
            args = [sys.executable, "-m", "fedmarket", "trainer", "run", str(project),
                    "--data", str(shards[i]), "--account", str(index), "--device", "cpu",
                    "--json"]
        else:
            args = [sys.executable, "-m", "trainer.simulate", str(project), "--data",
                    str(shards[i]), "--account", str(index), "--attack", behaviours[i]]
        processes.spawn(f"trainer-{i}", args + common)


def _check_alive(roles: list[RoleProcess]) -> None:
    crashed = [p for p in roles if p.failed()]
    if crashed:
        raise FedmarketError(f"demo role {crashed[0].name} failed (log {crashed[0].log}): "
                             f"{crashed[0].log_tail()}")


def _wait_ready(roles: list[RoleProcess], deadline: float, console: Console) -> None:
    """Wait until every role wrote its ready file; say so when starting them is slow."""
    started = time.monotonic()
    said = 0.0
    while True:
        _check_alive(roles)
        waiting = [p for p in roles if not p.ready_file.is_file()]
        if not waiting:
            break
        now = time.monotonic()
        if now > deadline:
            raise FedmarketError(f"{len(waiting)} demo role(s) did not start in time "
                                 f"({', '.join(p.name for p in waiting)}); logs in "
                                 f"{waiting[0].log.parent}")
        if now - said >= 15:
            if said:
                console.print(f"waiting for {len(waiting)} of {len(roles)} roles to start "
                              f"({now - started:.0f} s so far; the machine is busy)",
                              highlight=False)
            said = now
        time.sleep(0.2)
    console.print(f"{len(roles)} verifiers and trainers ready after "
                  f"{time.monotonic() - started:.0f} s; starting the aggregator", highlight=False)


def _watch(config: DemoConfig, owner: MarketContracts, project: int, roles: list[RoleProcess],
           deadline: float, console: Console, show_progress: bool) -> None:
    started = time.monotonic()
    market = owner.market
    with Live(console=console, refresh_per_second=2, transient=True,
              auto_refresh=show_progress) as live:
        while True:
            if show_progress:
                live.update(_status_table(market, project, config.rounds, started))
            finished = not project_active(market.project(project))
            _check_alive(roles)
            if finished and all(p.process.poll() is not None for p in roles):
                return
            if time.monotonic() > deadline:
                raise FedmarketError(f"demo did not finish within {config.timeout:.0f} s; "
                                     f"logs in {roles[0].log.parent}")
            time.sleep(0.5)


def _settle(w3: Any, deployment: Any, store: Any, owner: MarketContracts, project: int,
            budget: int, trainer_ids: list[int], behaviours: list[str],
            url: str) -> dict[str, Any]:
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
