"""API fixtures: a sample market played on the session node, indexed, behind a TestClient.

The published market is module-scoped: it is played once inside its own ``evm_snapshot``
(reverted when the module ends), so read-only tests share it; tests that change the chain
take the function-scoped ``chain`` fixture on top, which reverts after them.

Every index fixture runs on both backends: SQLite (a file in the test's folder) and
PostgreSQL (a database on one throwaway cluster per test session, started with ``initdb`` in
a temporary folder on a free 127.0.0.1 port and stopped at the end).
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
from market_api.db.cluster import ThrowawayPostgres, postgres_bindir
from market_api.indexer import Indexer
from market_api.indexer.results import store_fetcher
from market_api.main import create_app
from market_api.sample import SampleMarket, SampleProject

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway PostgreSQL cluster for the session."""
    if postgres_bindir() is None:
        pytest.skip("PostgreSQL server binaries missing: run scripts/install-postgres")
    cluster = ThrowawayPostgres()
    cluster.start()
    yield cluster
    cluster.stop()


class Databases:
    """Fresh, empty index URLs on one backend."""

    def __init__(self, backend: str, root: Path, request: pytest.FixtureRequest):
        self.backend = backend
        self.root = root
        self._request = request
        self._count = 0

    def new(self) -> str:
        self._count += 1
        if self.backend == "sqlite":
            return f"sqlite:///{self.root / f'index-{self._count}.sqlite'}"
        cluster: ThrowawayPostgres = self._request.getfixturevalue("postgres")
        return cluster.create_database()


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Databases:
    """Index URLs for one test, on each backend in turn."""
    return Databases(request.param, tmp_path, request)


@pytest.fixture(scope="module", params=BACKENDS)
def module_databases(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Databases:
    """Index URLs for one module, on each backend in turn."""
    return Databases(request.param, tmp_path_factory.mktemp("index"), request)


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


def publish(w3: Web3, root: Path, url: str, trainers: int = 3, rounds: int = 2) -> Published:
    deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
    store = LocalStore(root / "store")
    market = SampleMarket(w3, deployment, store)
    sample = market.play(trainers=trainers, rounds=rounds)
    return indexed(w3, deployment, store, market, sample, url)


def indexed(w3: Web3, deployment: Deployment, store: LocalStore, market: SampleMarket,
            sample: SampleProject, url: str) -> Published:
    index = Index(url)
    indexer = Indexer(w3, deployment, index, store_fetcher(store))
    return Published(w3, deployment, store, market, sample, index, indexer)


@pytest.fixture(scope="module")
def played(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """The sample market on chain (SQLite index, unsynced), reverted when the module ends."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    root = tmp_path_factory.mktemp("market")
    pub = publish(w3, root, f"sqlite:///{root / 'unused.sqlite'}")
    yield pub
    pub.index.close()
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def published(played: Published, module_databases: Databases) -> Iterator[Published]:
    """The played market, indexed into a fresh database of the module's backend."""
    pub = indexed(played.w3, played.deployment, played.store, played.market, played.sample,
                  module_databases.new())
    pub.indexer.sync()
    yield pub
    pub.index.close()


@pytest.fixture(scope="module")
def api(published: Published) -> Iterator[TestClient]:
    w3 = published.w3
    app = create_app(published.index, chain_id=published.deployment.chain_id,
                     chain_head=lambda: int(w3.eth.block_number))
    with TestClient(app) as client:
        yield client
