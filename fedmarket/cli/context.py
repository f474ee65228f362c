"""Shared options and the chain + store context every role command opens.

Every role command takes the same connection options (``--data-dir``, ``--account``,
``--rpc-url``, ``--key-file``, ``--ipfs-api``); a key itself is never accepted on the command
line — only a key file or ``FEDMARKET_PRIVATE_KEY``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from fedmarket.chain.context import ChainContext, open_chain
from fedmarket.chain.market import MarketContracts
from fedmarket.cli.common import settings_from
from fedmarket.config import Settings
from fedmarket.storage.base import ContentStore
from fedmarket.storage.factory import open_store
from fedmarket.units import ether_to_wei, wei_to_ether

__all__ = ["Conn", "RoleContext", "role_context", "ether_to_wei", "wei_to_ether", "ReadyFileOpt"]


@dataclass
class Conn:
    """The connection flags of one command invocation (None = not given)."""

    data_dir: Path | None = None
    account: int | None = None
    rpc_url: str | None = None
    key_file: Path | None = None
    ipfs_api: str | None = None

    def settings(self) -> Settings:
        """Flags over FEDMARKET_* over fedmarket.toml over defaults."""
        return settings_from(data_dir=self.data_dir, account=self.account, rpc_url=self.rpc_url,
                             key_file=self.key_file, ipfs_api=self.ipfs_api)


DataDirOpt = typer.Option(None, "--data-dir", help="Data dir (default ./.fedmarket).")
AccountOpt = typer.Option(None, "--account", help="Local dev account index (local chain only).")
RpcOpt = typer.Option(None, "--rpc-url", help="JSON-RPC URL (default: the local node).")
KeyFileOpt = typer.Option(None, "--key-file", help="File holding a hex private key.")
IpfsOpt = typer.Option(None, "--ipfs-api", help="Kubo RPC URL (default: embedded store).")
# How a CSV or text file is read (the owner's validation data and every trainer's own data).
LabelColumnOpt = typer.Option(None, "--label-column",
                              help="Label column of a CSV (header name or index; default the "
                                   "last) or field of text data (default 'label').")
TextColumnOpt = typer.Option(None, "--text-column",
                             help="Text field of .csv/.jsonl text data (default 'text').")
# How trainers send their updates (the spec's compression section; project post and the demo).
CompressionOpt = typer.Option("none", "--compression",
                              help="Update compression every trainer uses: none, int8 "
                                   "(~4x smaller, per-block scales) or topk (largest "
                                   "--topk-fraction of each tensor, with error feedback).")
TopkFractionOpt = typer.Option(0.1, "--topk-fraction",
                               help="With --compression topk: share of each tensor's values "
                                    "sent (0 < F <= 1; 0.1 is ~5x smaller).")
ReadyFileOpt = typer.Option(None, "--ready-file", help="Write this file once connected and "
                            "about to work (a supervisor such as the demo waits for it).")


@dataclass
class RoleContext:
    """A connected chain, bound contracts, the store and the settings behind them."""

    settings: Settings
    chain: ChainContext
    contracts: MarketContracts
    store: ContentStore

    @property
    def address(self) -> str:
        """The acting account."""
        return self.chain.client.address


@contextmanager
def role_context(conn: Conn) -> Iterator[RoleContext]:
    """Open chain and store for one command; the store is closed afterwards."""
    settings = conn.settings()
    chain = open_chain(settings)
    store = open_store(settings)
    try:
        yield RoleContext(settings, chain, MarketContracts.at(chain.client, chain.deployment),
                          store)
    finally:
        store.close()
