"""Shared fixtures: one real anvil node per test session, a snapshot revert per test.

Tests that use ``chain`` get a fresh view of the session's node: the state is snapshotted
before the test and reverted after it (receipts are awaited inside every transaction, so no
pending transaction can leak across the revert).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from web3 import Web3

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.node import LocalNode


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread for the test: two cores are shared with the rest of the suite, and
    one thread keeps CPU training bitwise equal between runs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def seeded_randomness(request: pytest.FixtureRequest) -> None:
    """Seed torch, numpy's global generator and ``random`` from the test's own id.

    Every random input of every test is then the same on every run and every machine, and two
    tests never share a stream, so a result cannot depend on which tests ran before.
    """
    seed = zlib.crc32(request.node.nodeid.encode())
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    """A real anvil on a free 127.0.0.1 port, stopped at the end of the session."""
    node = LocalNode(tmp_path_factory.mktemp("anvil"))
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def w3(anvil_node: LocalNode) -> Web3:
    """Web3 connected to the session's node."""
    return connect(anvil_node.url)


@pytest.fixture
def chain(w3: Web3) -> Iterator[Web3]:
    """The session node, reverted to its state before the test when the test ends."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield w3
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def client_for(chain: Web3):
    """Factory: ``client_for(i)`` is a ChainClient for dev account i on the reverted chain."""

    def make(index: int) -> ChainClient:
        return ChainClient(chain, dev_account(index))

    return make


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh fedmarket data dir for one test."""
    path = tmp_path / "fedmarket-data"
    path.mkdir()
    return path
