"""CLI test helpers: a node started by `chain up` per module, and run-and-check helpers.

``refused`` is the contract every bad input must meet: exit status 1 through the CLI's own
error path (a ``SystemExit``, never an escaped exception), one line on the terminal, starting
with ``error:``, and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from web3 import Web3

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.market import MarketContracts
from fedmarket.cli import app

runner = CliRunner()

#: Dev accounts that register as verifiers when a module's node starts: posting a project needs
#: at least a committee's worth (three by default) in the registry.
VERIFIER_POOL = ("30", "31", "32")


def register_verifier_pool(data_dir: str) -> None:
    """Register the :data:`VERIFIER_POOL` as verifiers with the CLI."""
    for account in VERIFIER_POOL:
        result = runner.invoke(app, ["verifier", "register", "--account", account,
                                     "--data-dir", data_dir])
        assert result.exit_code == 0, result.output


@dataclass
class Market:
    """The module's market: its data dir, and direct chain access for setup and checks."""

    data_dir: str
    w3: Web3

    def contracts(self, account: int) -> MarketContracts:
        """The deployed contracts bound for dev account ``account``."""
        deployment = Deployment.load(Path(self.data_dir) / "chain" / "deployment.json")
        return MarketContracts.at(ChainClient(self.w3, dev_account(account)), deployment)

    def balance(self, account: int) -> int:
        """Dev account ``account``'s balance in wei."""
        return int(self.w3.eth.get_balance(dev_account(account).address))

    def travel(self, seconds: int) -> None:
        """Move the node's clock forward and mine a block at the new time."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    """A node started by `fedmarket chain up` in a fresh data dir, stopped after the module."""
    path = str(tmp_path_factory.mktemp("cli") / "data")
    up = runner.invoke(app, ["chain", "up", "--data-dir", path, "--json"])
    assert up.exit_code == 0, up.output
    register_verifier_pool(path)
    yield Market(path, connect(json.loads(up.stdout.strip().splitlines()[-1])["url"]))
    runner.invoke(app, ["chain", "down", "--data-dir", path])


def ok(*args: str) -> dict[str, Any]:
    """Run a command with --json; it must succeed; return its JSON."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def text(*args: str) -> str:
    """Run a command for people (no --json); it must succeed; return its whitespace-normalised
    output."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def refused(*args: str, notes: bool = False) -> str:
    """Run a command that must be refused with one line and no traceback; return that line.

    ``notes``: the command may print progress lines before its error (role loops do).
    """
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.output
    assert notes or len(lines) == 1, result.output
    return lines[-1]
