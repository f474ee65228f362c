"""Shared options and the chain + store context every role command opens.

Every role command takes the same connection options (``--data-dir``, ``--account``,
``--rpc-url``, ``--key-file``, ``--ipfs-api``); a key itself is never accepted on the command
line — only a key file or ``FEDMARKET_PRIVATE_KEY``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from fedmarket.chain.context import ChainContext, open_chain
from fedmarket.chain.market import MarketContracts
from fedmarket.cli.common import settings_from
from fedmarket.config import Settings
from fedmarket.errors import ConfigError
from fedmarket.storage.base import ContentStore
from fedmarket.storage.factory import open_store

__all__ = ["Conn", "RoleContext", "role_context", "ether_to_wei", "wei_to_ether"]


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


def ether_to_wei(text: str | float, what: str = "amount") -> int:
    """Parse an ether amount exactly (``0.5`` -> 500000000000000000 wei)."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ConfigError(f"{what} {text!r} is not a number of ether") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{what} must be a non-negative number of ether, got {text!r}")
    wei = value * 10**18
    if wei != wei.to_integral_value():
        raise ConfigError(f"{what} {text!r} has more than 18 decimals")
    return int(wei)


def wei_to_ether(wei: int) -> str:
    """Format wei as ether without float rounding."""
    text = f"{Decimal(wei) / Decimal(10**18):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
