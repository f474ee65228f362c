"""``api serve`` without a node, and following the node to the port a new ``chain up`` picks.

These tests stop and restart a node, so they run their own anvil in a temporary data dir
(never the session's node). Deadlines are wide: on a loaded 2-core machine one indexer pass
takes well under a second, a CLI start up to about 20 s.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.context import deployment_path
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.node import LocalNode, free_port
from fedmarket.config import Settings
from fedmarket.storage import LocalStore
from market_api.sample import SampleMarket
from market_api.service import open_service

DEADLINE_S = 120


def wait_for(probe: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def node_dir(tmp_path: Path) -> Iterator[Settings]:
    """Settings of a fresh data dir whose node (if any is left running) is stopped after."""
    settings = Settings(data_dir=tmp_path / "data")
    yield settings
    LocalNode(settings.chain_dir).stop()


def post_project(url: str, settings: Settings) -> None:
    w3 = connect(url)
    path = deployment_path(settings)
    if not path.is_file():
        deploy_contracts(ChainClient(w3, dev_account(0))).save(path)
    from fedmarket.chain.deployment import Deployment

    SampleMarket(w3, Deployment.load(path), LocalStore(settings.store_dir)).post(
        trainers=2, rounds=1)


def test_api_serves_its_index_while_the_node_is_down_then_follows_it_to_a_new_port(
        node_dir: Settings) -> None:
    settings = node_dir
    first = LocalNode(settings.chain_dir)
    old_port = first.start().port
    post_project(first.url, settings)
    indexed = open_service(settings)
    indexed.indexer.sync()
    indexed.close()
    first.stop()

    service = open_service(settings, require_chain=False)  # the node is down
    try:
        with TestClient(service.app(interval=0.1)) as client:
            health = client.get("/health").json()
            assert health["status"] == "chain_unreachable"
            assert health["chain_id"] == 31337 and health["indexed_block"] is not None
            assert client.get("/projects").json()["count"] == 1

            port = wait_for(lambda: (p := free_port()) != old_port and p, "another port")
            second = LocalNode(settings.chain_dir, port=port)
            second.start()  # state reloaded from disk: same contracts, new port
            post_project(second.url, settings)

            head = connect(second.url).eth.block_number
            wait_for(lambda: client.get("/health").json()["indexed_block"] >= head,
                     "the API to index the node on its new port")

            assert client.get("/projects").json()["count"] == 2
            assert client.get("/health").json()["status"] == "ok"
            assert service.follower.url == f"http://127.0.0.1:{port}"
    finally:
        service.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_command_starts_while_the_node_is_down(chain: Web3, tmp_path: Path,
                                                     workers: int) -> None:
    settings = Settings(data_dir=tmp_path)
    deploy_contracts(ChainClient(chain, dev_account(0))).save(deployment_path(settings))
    port = free_port()
    fedmarket = Path(sys.executable).with_name("fedmarket")
    server = subprocess.Popen(  # no node recorded in this data dir, no --rpc-url
        [str(fedmarket), "api", "serve", "--port", str(port), "--data-dir", str(tmp_path),
         "--interval", "0.2", "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def health() -> dict[str, Any] | None:
            assert server.poll() is None, server.communicate()[0]
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                return None

        body = wait_for(health, "the API to answer")

        assert body["status"] == "chain_unreachable" and body["chain_id"] == 31337
        assert "no local node is running" in (body["indexer_error"] or "")
        assert httpx.get(f"http://127.0.0.1:{port}/projects", timeout=5).json() == {
            "data": [], "count": 0}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "node not reachable yet" in output
