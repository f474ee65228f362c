"""API fixtures: a sample market played on the session node, indexed, behind a TestClient.

The published market is module-scoped: it is built once inside its own ``evm_snapshot``
(reverted when the module ends), so read-only tests share it; tests that change the chain
take the function-scoped ``chain`` fixture on top, which reverts after them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.deployment import Deployment
from fedmarket.storage import LocalStore
from market_api.db import Index
from market_api.indexer import Indexer
from market_api.indexer.results import store_fetcher
from market_api.main import create_app
from market_api.sample import SampleMarket, SampleProject


@dataclass
class Published:
    """A finished sample project on chain, its store and a fresh index of it."""

    w3: Web3
    deployment: Deployment
    store: LocalStore
    market: SampleMarket
    sample: SampleProject
    index: Index
    indexer: Indexer


def publish(w3: Web3, root: Path, trainers: int = 3, rounds: int = 2) -> Published:
    deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
    store = LocalStore(root / "store")
    market = SampleMarket(w3, deployment, store)
    sample = market.play(trainers=trainers, rounds=rounds)
    index = Index(f"sqlite:///{root / 'index.sqlite'}")
    indexer = Indexer(w3, deployment, index, store_fetcher(store))
    return Published(w3, deployment, store, market, sample, index, indexer)


@pytest.fixture(scope="module")
def published(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    pub = publish(w3, tmp_path_factory.mktemp("market"))
    pub.indexer.sync()
    yield pub
    pub.index.close()
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(published: Published) -> Iterator[TestClient]:
    w3 = published.w3
    app = create_app(published.index, chain_id=published.deployment.chain_id,
                     chain_head=lambda: int(w3.eth.block_number))
    with TestClient(app) as client:
        yield client
