"""From fedmarket settings to a running API: chain, deployment, store, index, indexer.

Settings are fedmarket's own (:class:`fedmarket.config.Settings`: ``rpc_url``, ``data_dir``,
``index_url``, ``ipfs_api``), so the API reads the same ``FEDMARKET_*`` variables and
``fedmarket.toml`` as every other command. No key is loaded: the API only reads.

The node may come and go while the API runs: :class:`ChainFollower` resolves the node anew
(the configured ``rpc_url``, else the one ``fedmarket chain up`` recorded, whose port may
change from one ``chain up`` to the next) and re-reads the deployment file on every indexer
pass, so the API serves its index while the node is down (``/health`` says
``chain_unreachable``) and picks the node up again wherever it comes back.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from web3 import Web3

from fedmarket.chain.client import connect
from fedmarket.chain.context import deployment_path, rpc_url_for
from fedmarket.chain.deployment import Deployment
from fedmarket.config import Settings
from fedmarket.errors import ChainError
from fedmarket.storage import ContentStore, open_store
from market_api.db import Index, index_url_for
from market_api.indexer import BackgroundIndexer, Indexer, SyncReport
from market_api.indexer.results import store_fetcher
from market_api.indexer.runner import default_confirmations
from market_api.main import create_app

__all__ = ["ApiService", "ChainFollower", "open_service", "run_server"]

# A health probe must answer quickly even when the node hangs; indexing may wait longer.
HEAD_TIMEOUT_S = 2.0
HEAD_TTL_S = 0.25
INDEX_TIMEOUT_S = 30.0


class ChainFollower:
    """The indexer of whatever node and deployment the settings name right now."""

    def __init__(self, settings: Settings, index: Index, store: ContentStore,
                 confirmations: int | None = None, batch_blocks: int = 2_000):
        self.settings = settings
        self.index = index
        self.fetch_result = store_fetcher(store)
        self.batch_blocks = batch_blocks
        self._confirmations = confirmations
        self._lock = threading.Lock()
        self.deployment = Deployment.load(deployment_path(settings))
        self.url: str | None = None
        self._indexer: Indexer | None = None
        self._probe: Web3 | None = None
        self._head: tuple[float, int] | None = None  # (monotonic time, block) of the last probe

    @property
    def chain_id(self) -> int:
        """The chain id of the deployment followed (the file's, while the node is down)."""
        return self.deployment.chain_id

    @property
    def configured_confirmations(self) -> int | None:
        """The confirmations asked for (None: the chain's default)."""
        return self._confirmations

    @property
    def confirmations(self) -> int:
        """Blocks the indexer stays behind the head."""
        if self._confirmations is not None:
            return self._confirmations
        return default_confirmations(self.deployment.chain_id)

    def connect(self) -> Indexer:
        """The indexer for the node and deployment configured now; ChainError when none answers.

        Reconnects only when the URL or the deployment file changed, so a steady node costs
        one file read and one liveness probe per pass.
        """
        url = rpc_url_for(self.settings)
        deployment = Deployment.load(deployment_path(self.settings))
        with self._lock:
            if self._indexer is not None and (url, deployment) == (self.url, self.deployment):
                return self._indexer
        w3 = connect(url, timeout=INDEX_TIMEOUT_S)
        if not deployment.is_live(w3):
            raise ChainError(f"the deployment in {deployment_path(self.settings)} is not on "
                             f"the chain at {url} (different chain or wiped node)")
        indexer = Indexer(w3, deployment, self.index, self.fetch_result,
                          confirmations=self._confirmations, batch_blocks=self.batch_blocks)
        probe = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": HEAD_TIMEOUT_S}))
        with self._lock:
            self._indexer, self._probe, self._head = indexer, probe, None
            self.url, self.deployment = url, deployment
        return indexer

    def sync(self) -> SyncReport:
        """One indexer pass on the node configured now (reconnecting if it moved)."""
        return self.connect().sync()

    def head(self) -> int:
        """The followed node's latest block; raises when no node answers.

        Kept for :data:`HEAD_TTL_S`: a load balancer polling ``/health`` hundreds of times a
        second would otherwise cost the node as many calls.
        """
        with self._lock:
            probe, cached = self._probe, self._head
        if probe is None:
            raise ChainError("not connected to a node yet")
        now = time.monotonic()
        if cached is not None and now - cached[0] < HEAD_TTL_S:
            return cached[1]
        head = int(probe.eth.block_number)
        with self._lock:
            if self._probe is probe:
                self._head = (now, head)
        return head


@dataclass
class ApiService:
    """Everything ``fedmarket api`` runs, opened from settings."""

    store: ContentStore
    index: Index
    follower: ChainFollower

    @property
    def deployment(self) -> Deployment:
        """The deployment followed."""
        return self.follower.deployment

    @property
    def indexer(self) -> Indexer:
        """The indexer on the current node (ChainError when none answers)."""
        return self.follower.connect()

    def app(self, interval: float | None = 1.0) -> FastAPI:
        """The app; with ``interval`` the indexer follows the chain while the app is up."""
        follower = self.follower
        background = (BackgroundIndexer(follower, interval)
                      if interval is not None else None)
        return create_app(self.index, lambda: follower.chain_id, chain_head=follower.head,
                          confirmations=lambda: follower.confirmations, background=background)

    def close(self) -> None:
        """Release the index and the store."""
        self.index.close()
        self.store.close()


def open_service(settings: Settings, confirmations: int | None = None,
                 batch_blocks: int = 2_000, require_chain: bool = True) -> ApiService:
    """Open the deployment's index; with ``require_chain`` the node must answer now.

    Without it (``api serve``) a node that is down is not an error: the API serves the index
    it has and the follower connects once the node is back.
    """
    store = open_store(settings)
    index = Index(index_url_for(settings))
    try:
        follower = ChainFollower(settings, index, store, confirmations, batch_blocks)
        if require_chain:
            follower.connect()
        else:
            try:
                follower.connect()
            except ChainError:
                pass  # served from the index; /health reports chain_unreachable
    except BaseException:
        index.close()
        store.close()
        raise
    return ApiService(store, index, follower)


# What a worker process of `run_server(workers=N)` reads besides the FEDMARKET_* settings.
_INTERVAL_ENV = "FEDMARKET_API_INTERVAL"
_CONFIRMATIONS_ENV = "FEDMARKET_API_CONFIRMATIONS"


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, from ``FEDMARKET_*`` variables (uvicorn factory).

    Each worker follows the chain with its own indexer; the index's write lock makes them
    take turns (:meth:`market_api.db.Index.writing`).
    """
    from fedmarket.config import load_settings

    confirmations = os.environ.get(_CONFIRMATIONS_ENV)
    service = open_service(load_settings({}), require_chain=False,
                           confirmations=int(confirmations) if confirmations else None)
    return service.app(interval=float(os.environ.get(_INTERVAL_ENV, "1.0")))


def run_server(service: ApiService, host: str = "127.0.0.1", port: int = 8000,
               interval: float = 1.0, workers: int = 1) -> None:
    """Serve the app with uvicorn until interrupted, the indexer following in the background.

    With ``workers`` > 1, uvicorn forks that many processes (one GIL each: the API then uses
    several cores), each opening the service anew from the same settings.
    """
    import uvicorn

    if workers <= 1:
        try:
            uvicorn.run(service.app(interval=interval), host=host, port=port,
                        log_level="warning")
        finally:
            service.close()
        return
    settings = service.follower.settings
    env = {"FEDMARKET_DATA_DIR": str(Path(settings.data_dir).resolve()),
           "FEDMARKET_INDEX_URL": service.index.url, _INTERVAL_ENV: str(interval)}
    if settings.rpc_url:
        env["FEDMARKET_RPC_URL"] = settings.rpc_url
    if service.follower.configured_confirmations is not None:
        env[_CONFIRMATIONS_ENV] = str(service.follower.configured_confirmations)
    service.close()
    os.environ.update(env)
    uvicorn.run("market_api.service:app_from_environment", factory=True, host=host,
                port=port, workers=workers, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    """``python -m market_api.service``: serve without the rest of the fedmarket CLI."""
    from fedmarket.config import load_settings

    parser = argparse.ArgumentParser(description="Serve the fedmarket API and dashboard.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--rpc-url")
    parser.add_argument("--index-url")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = load_settings({"data_dir": args.data_dir, "rpc_url": args.rpc_url,
                              "index_url": args.index_url})
    run_server(open_service(settings, require_chain=False), args.host, args.port,
               args.interval, args.workers)


if __name__ == "__main__":
    main()
