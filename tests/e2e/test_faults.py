"""Faults on a real node: a role killed with SIGKILL mid-work, or the node itself, then restarted.

Each test kills one thing at the moment that hurts most — the aggregator while it computes the
result, a verifier while it re-executes, a trainer between its commit and its reveal, the node
in the middle of a round — restarts it, and checks that the round still completes with nothing
lost or paid twice: `fedmarket audit` re-executes the round and passes, every trainer's claim
pays exactly its leaf in the posted result, a second claim pays nothing, and the books balance.

The role under fault is the real CLI command in its own process (`fedmarket aggregator run`,
`verifier run`, `trainer run`) against the data dir's node started by `fedmarket chain up`; the
other roles run in this process on the same node and store, driven step by step. Phase windows
are 600 s and every deadline is passed by moving the chain clock, so no assertion depends on
how fast this machine is; waits on the role processes are bounded by :data:`PATIENCE`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner
from web3 import Web3

from aggregator.service import AggregatorService
from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.node import LocalNode
from fedmarket.chain.types import (
    Attestation,
    ParticipantKind,
    ProjectStatus,
    RoundInfo,
    RoundStatus,
    SubmissionStatus,
)
from fedmarket.cli import app
from fedmarket.config import load_settings
from fedmarket.datasets import holdout_split, load_data, partition
from fedmarket.errors import ChainError
from fedmarket.owner import ProjectRequest, post_project
from fedmarket.rewards_query import claim_rewards, round_result_of
from fedmarket.storage.factory import open_store
from trainer.client import TrainerClient
from verifier.service import VerifierService

runner = CliRunner()
ETHER = 10**18
OWNER, AGGREGATOR, VERIFIERS, TRAINERS = 1, 2, (3, 4, 5), (6, 7, 8, 9, 10)
#: Seconds any wait on a role process may take: a CLI start is 6 s idle, 19 s under load.
PATIENCE = 240.0


@dataclass
class FaultMarket:
    """One posted, started project on a node of its own, and its in-process roles."""

    data_dir: Path
    w3: Web3
    deployment: Deployment
    store: Any
    project: int
    shards: list[Path]
    trainers: list[TrainerClient]
    aggregator: AggregatorService
    verifiers: list[VerifierService]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def contracts(self, account: int) -> MarketContracts:
        return MarketContracts.at(ChainClient(self.w3, dev_account(account)), self.deployment)

    @property
    def market(self) -> Any:
        return self.contracts(OWNER).market

    def round(self) -> RoundInfo:
        return self.market.round(self.project, 1)

    def spawn(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Start ``fedmarket ARGS --data-dir D`` with its output in ``logs/NAME.log``."""
        log = self.data_dir.parent / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        with open(log, "ab") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", "fedmarket", *args, "--data-dir", str(self.data_dir)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.processes.append(process)
        return process, log

    def claim_all(self) -> dict[str, int]:
        """Every trainer claims; returns what each was paid."""
        paid = {}
        for account in TRAINERS:
            c = self.contracts(account)
            address = c.market.contract.client.address
            paid[address], _ = claim_rewards(c, self.store, address, [self.project])
        return paid


def wait_for(what: str, condition: Callable[[], bool], process: subprocess.Popen[bytes] | None,
             log: Path | None = None, poll: float = 0.01) -> None:
    """Poll ``condition`` until it holds; fail with the role's log if the role died or stalled."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        tail = log.read_text(errors="replace")[-1500:] if log is not None and log.is_file() else ""
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the role exited with {process.returncode}: {tail}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {PATIENCE:.0f} s: {tail}")
        time.sleep(poll)


def logged(log: Path, text: str) -> Callable[[], bool]:
    return lambda: log.is_file() and text in log.read_text(errors="replace")


def kill_9(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _retrying(step: Callable[[], Any]) -> Any:
    """Run one role step, retrying transient chain errors as the role loops do."""
    for _ in range(50):
        try:
            return step()
        except ChainError:
            time.sleep(0.2)
    return step()


@pytest.fixture
def faults(tmp_path: Path) -> Iterator[FaultMarket]:
    data_dir = tmp_path / "data"
    up = runner.invoke(app, ["chain", "up", "--data-dir", str(data_dir), "--json"])
    assert up.exit_code == 0, up.output
    w3 = connect(json.loads(up.stdout.strip().splitlines()[-1])["url"])
    deployment = Deployment.load(data_dir / "chain" / "deployment.json")
    store = open_store(load_settings({"data_dir": data_dir}))

    def contracts(account: int) -> MarketContracts:
        return MarketContracts.at(ChainClient(w3, dev_account(account)), deployment)

    for account in VERIFIERS:
        c = contracts(account)
        c.registry.register(ParticipantKind.VERIFIER,
                            c.registry.min_stake(ParticipantKind.VERIFIER))
    # The default pipeline with the owner's validation data; long windows, passed by the clock.
    posted = post_project(contracts(OWNER), store, ProjectRequest(
        budget_wei=5 * ETHER, aggregator=dev_account(AGGREGATOR).address, rounds=1,
        min_trainers=len(TRAINERS), commit_duration=600, reveal_duration=600,
        aggregate_duration=600, verify_duration=600))
    rest, _ = holdout_split(load_data("digits"), fraction=0.2, seed=0)
    shards, paths, trainers = partition(rest, len(TRAINERS), alpha=None, seed=1), [], []
    for i, account in enumerate(TRAINERS):
        c = contracts(account)
        c.registry.register(ParticipantKind.TRAINER, ETHER // 10)
        c.market.join_as_trainer(posted.project)
        path = tmp_path / f"shard-{i}.npz"
        np.savez(path, x=shards[i].x, y=shards[i].y)
        paths.append(path)
        # The same pending folder as `trainer run` uses for this data dir: one trainer's state.
        trainers.append(TrainerClient(c, store, shards[i], data_dir / "pending", device="cpu"))
    aggregator = AggregatorService(contracts(AGGREGATOR), store, deployment.start_block,
                                   prove=False)
    aggregator.start(posted.project)
    verifiers = [VerifierService(contracts(a), store, deployment.start_block) for a in VERIFIERS]
    market = FaultMarket(data_dir, w3, deployment, store, posted.project, paths, trainers,
                         aggregator, verifiers)
    yield market
    for process in market.processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    runner.invoke(app, ["chain", "down", "--data-dir", str(data_dir)])


def _blocks_on_disk(chain_dir: Path) -> int:
    """The newest block in the node's state file (-1 while it is being rewritten)."""
    try:
        return int(json.loads((chain_dir / "state.json").read_text())["best_block_number"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def commit(m: FaultMarket, trainers: list[TrainerClient]) -> None:
    for trainer in trainers:
        assert trainer.step(m.project) is True


def reveal(m: FaultMarket, trainers: list[TrainerClient]) -> None:
    for trainer in trainers:
        trainer.step(m.project)


def attest(m: FaultMarket, verifiers: list[VerifierService]) -> None:
    for verifier in verifiers:
        assert verifier.step(m.project) is True


def assert_settled_once(m: FaultMarket) -> None:
    """The round finalized, re-executes to the same result, and pays each leaf exactly once."""
    info = m.round()
    assert info.status == RoundStatus.FINALIZED
    result = round_result_of(m.store, info.result_cid, info.result_hash)
    assert len(result.trainers) == len(TRAINERS)  # every trainer's update made it in
    audit = runner.invoke(app, ["audit", str(m.project), "--data-dir", str(m.data_dir),
                                "--json"])
    assert audit.exit_code == 0, audit.output
    paid = m.claim_all()
    assert paid == {t.address: t.reward for t in result.trainers}
    assert sum(paid.values()) == result.total == info.total_rewarded_wei > 0
    assert m.claim_all() == dict.fromkeys(paid, 0)  # nothing is paid twice


def finish(m: FaultMarket) -> None:
    """The aggregator closes the project once its only round is settled."""
    _retrying(lambda: m.aggregator.step(m.project))
    wait_for("project finished", lambda: (
        _retrying(lambda: m.aggregator.step(m.project)) is not None
        and m.market.project(m.project).status == ProjectStatus.FINISHED), None)


def test_aggregator_killed_while_it_computes_the_result_publishes_it_once_after_restart(
        faults: FaultMarket) -> None:
    m = faults
    commit(m, m.trainers)
    reveal(m, m.trainers)  # every trainer revealed: the round is in its result phase
    aggregator, log = m.spawn("aggregator", "aggregator", "run", str(m.project),
                              "--account", str(AGGREGATOR))
    wait_for("aggregator computing", logged(log, "computing the result"), aggregator, log)
    kill_9(aggregator)
    assert m.round().status == RoundStatus.OPEN  # killed before it posted anything

    aggregator, log = m.spawn("aggregator-restarted", "aggregator", "run", str(m.project),
                              "--account", str(AGGREGATOR))
    wait_for("result posted after the restart",
             lambda: m.round().status == RoundStatus.POSTED, aggregator, log)
    attest(m, m.verifiers[:2])  # two agreeing seats of three settle the round
    aggregator.wait(timeout=PATIENCE)  # it settles rejections, finishes the project, exits
    assert aggregator.returncode == 0, log.read_text()
    assert m.market.project(m.project).status == ProjectStatus.FINISHED
    assert_settled_once(m)


def test_verifier_killed_while_it_reexecutes_attests_once_after_restart(
        faults: FaultMarket) -> None:
    m = faults
    commit(m, m.trainers)
    reveal(m, m.trainers)
    assert m.aggregator.step(m.project)  # posted: the verify phase is open
    first = VERIFIERS[0]
    verifier, log = m.spawn("verifier", "verifier", "run", "--project", str(m.project),
                            "--account", str(first))
    wait_for("verifier re-executing", logged(log, "re-executing"), verifier, log)
    kill_9(verifier)
    assert m.market.attestation(m.project, 1, dev_account(first).address) == Attestation.NONE

    verifier, log = m.spawn("verifier-restarted", "verifier", "run", "--project",
                            str(m.project), "--account", str(first))
    wait_for("attestation after the restart", lambda: m.market.attestation(
        m.project, 1, dev_account(first).address) != Attestation.NONE, verifier, log)
    assert m.market.attestation(m.project, 1, dev_account(first).address) == Attestation.AGREE
    attest(m, m.verifiers[1:2])  # the second agreeing seat settles the round
    finish(m)
    verifier.wait(timeout=PATIENCE)  # every watched project ended
    assert verifier.returncode == 0, log.read_text()
    assert_settled_once(m)
    assert m.contracts(first).market.credit_of() > 0  # its share of the verification fee


def test_trainer_killed_between_commit_and_reveal_reveals_from_disk_after_restart(
        faults: FaultMarket) -> None:
    m = faults
    # The trainer under fault commits first, so the commit phase stays open (it closes early
    # only once every trainer committed) and nothing can be revealed before it is killed.
    index = len(TRAINERS) - 1
    args = ("trainer", "run", str(m.project), "--data", str(m.shards[index]), "--account",
            str(TRAINERS[index]), "--device", "cpu")
    address = dev_account(TRAINERS[index]).address
    trainer, log = m.spawn("trainer", *args)
    wait_for("trainer committed", lambda: m.market.submission(
        m.project, 1, address) == SubmissionStatus.COMMITTED, trainer, log)
    kill_9(trainer)

    others = [t for t in m.trainers if t.address != address]
    commit(m, others)
    reveal(m, others)
    assert m.market.submission(m.project, 1, address) == SubmissionStatus.COMMITTED
    trainer, log = m.spawn("trainer-restarted", *args)
    wait_for("reveal after the restart", lambda: m.market.submission(
        m.project, 1, address) == SubmissionStatus.REVEALED, trainer, log)
    assert m.aggregator.step(m.project)
    attest(m, m.verifiers[:2])
    finish(m)
    trainer.wait(timeout=PATIENCE)  # the project's only round is closed
    assert trainer.returncode == 0, log.read_text()
    assert_settled_once(m)


def test_node_killed_mid_round_resumes_from_its_state_file_and_the_round_completes(
        faults: FaultMarket) -> None:
    m = faults
    chain_dir = m.data_dir / "chain"
    # The node writes its state every second (slower under load): the market's setup must be on
    # disk before the fault, what happens in the round may be lost and must be resent.
    set_up = m.w3.eth.block_number
    wait_for("setup on disk", lambda: _blocks_on_disk(chain_dir) >= set_up, None, poll=0.1)
    commit(m, m.trainers[:3])
    node = LocalNode(chain_dir).running_info()
    assert node is not None
    os.kill(node.pid, signal.SIGKILL)  # no clean shutdown: the last second may be lost
    wait_for("node gone", lambda: LocalNode(chain_dir).running_info() is None, None)

    up = runner.invoke(app, ["chain", "up", "--data-dir", str(m.data_dir), "--port",
                             str(node.port), "--json"])
    assert up.exit_code == 0, up.output
    assert m.w3.eth.block_number > 0  # the deployment and the project are back
    assert m.market.project(m.project).status == ProjectStatus.RUNNING
    # Every role simply carries on from chain state; a commit the node lost is sent again.
    m.aggregator.start(m.project)  # what `aggregator run` does first (nothing if started)
    for _ in range(3):
        for trainer in m.trainers:
            _retrying(lambda t=trainer: t.step(m.project))
    assert m.round().reveals == len(TRAINERS)
    assert _retrying(lambda: m.aggregator.step(m.project))
    attest(m, m.verifiers[:2])
    finish(m)
    assert_settled_once(m)
