"""From fedmarket settings to a running API: chain, deployment, store, index, indexer.

Settings are fedmarket's own (:class:`fedmarket.config.Settings`: ``rpc_url``, ``data_dir``,
``index_url``, ``ipfs_api``), so the API reads the same ``FEDMARKET_*`` variables and
``fedmarket.toml`` as every other command. No key is loaded: the API only reads.
"""

from __future__ import annotations

import argparse
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
from market_api.indexer import BackgroundIndexer, Indexer
from market_api.indexer.results import store_fetcher
from market_api.main import create_app

__all__ = ["ApiService", "open_service", "run_server"]


@dataclass
class ApiService:
    """Everything ``fedmarket api`` runs, opened from settings."""

    w3: Web3
    deployment: Deployment
    store: ContentStore
    index: Index
    indexer: Indexer

    def app(self, interval: float | None = 1.0) -> FastAPI:
        """The app; with ``interval`` the indexer follows the chain while the app is up."""
        background = (BackgroundIndexer(self.indexer, interval)
                      if interval is not None else None)
        w3 = self.w3
        return create_app(self.index, self.deployment.chain_id,
                          chain_head=lambda: int(w3.eth.block_number),
                          confirmations=self.indexer.confirmations, background=background)

    def close(self) -> None:
        """Release the index and the store."""
        self.index.close()
        self.store.close()


def open_service(settings: Settings, confirmations: int | None = None,
                 batch_blocks: int = 2_000) -> ApiService:
    """Connect to the configured chain and open the deployment's index."""
    w3 = connect(rpc_url_for(settings))
    deployment = Deployment.load(deployment_path(settings))
    if not deployment.is_live(w3):
        raise ChainError(f"the deployment in {deployment_path(settings)} is not on the chain at "
                         "this RPC URL (different chain or wiped node): run `fedmarket chain up`")
    store = open_store(settings)
    index = Index(index_url_for(settings))
    indexer = Indexer(w3, deployment, index, store_fetcher(store), confirmations=confirmations,
                      batch_blocks=batch_blocks)
    return ApiService(w3, deployment, store, index, indexer)


def run_server(service: ApiService, host: str = "127.0.0.1", port: int = 8000,
               interval: float = 1.0) -> None:
    """Serve the app with uvicorn until interrupted, the indexer following in the background."""
    import uvicorn

    try:
        uvicorn.run(service.app(interval=interval), host=host, port=port, log_level="warning")
    finally:
        service.close()


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
    args = parser.parse_args(argv)
    settings = load_settings({"data_dir": args.data_dir, "rpc_url": args.rpc_url,
                              "index_url": args.index_url})
    run_server(open_service(settings), args.host, args.port, args.interval)


if __name__ == "__main__":
    main()
