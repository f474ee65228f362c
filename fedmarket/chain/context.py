"""From settings to a connected chain: which node, which contracts, which key.

Every command that touches the chain goes through :func:`open_chain` and :func:`signer`, so the
rules live in one place: ``rpc_url`` if configured, else the local node recorded by
``fedmarket chain up``; a key file or ``FEDMARKET_PRIVATE_KEY`` if given, else the local node's
dev account ``--account N`` (refused on any chain that is not the local dev chain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.node import CHAIN_ID, LocalNode
from fedmarket.config import Settings
from fedmarket.errors import ChainError, ConfigError

__all__ = ["ChainContext", "open_chain", "signer", "rpc_url_for", "deployment_path"]


@dataclass
class ChainContext:
    """A connected chain, its fedmarket deployment and the account acting on it."""

    w3: Web3
    deployment: Deployment
    client: ChainClient


def deployment_path(settings: Settings) -> Path:
    """Where the deployment file of this data dir lives."""
    return settings.chain_dir / "deployment.json"


def rpc_url_for(settings: Settings) -> str:
    """The configured RPC URL, or the running local node's."""
    if settings.rpc_url:
        return settings.rpc_url
    info = LocalNode(settings.chain_dir).running_info()
    if info is None:
        raise ChainError(f"no local node is running for {settings.data_dir}: "
                         "start one with `fedmarket chain up` or set FEDMARKET_RPC_URL")
    return info.url


def signer(settings: Settings, w3: Web3 | None = None) -> LocalAccount:
    """The account this process acts as (never a key from the command line itself)."""
    if settings.private_key:
        return _from_hex(settings.private_key, "FEDMARKET_PRIVATE_KEY")
    if settings.key_file:
        path = Path(settings.key_file)
        if not path.is_file():
            raise ConfigError(f"key file {path} does not exist")
        text = path.read_text().strip()
        if text.startswith("{"):  # an encrypted keystore is not supported without a password
            raise ConfigError(f"key file {path} is a JSON keystore; give a file holding a hex key")
        return _from_hex(text, str(path))
    if w3 is not None and w3.eth.chain_id != CHAIN_ID:
        raise ConfigError("dev accounts exist only on the local chain; configure a key with "
                          "--key-file or FEDMARKET_PRIVATE_KEY")
    return dev_account(settings.account)


def _from_hex(text: str, source: str) -> LocalAccount:
    try:
        return Account.from_key(text.strip())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source} does not hold a valid hex private key") from exc


def open_chain(settings: Settings) -> ChainContext:
    """Connect, load the deployment and check it is live on this chain."""
    w3 = connect(rpc_url_for(settings))
    deployment = Deployment.load(deployment_path(settings))
    if not deployment.is_live(w3):
        raise ChainError(f"the deployment in {deployment_path(settings)} is not on the chain at "
                         "this RPC URL (different chain or wiped node): run `fedmarket chain up`")
    return ChainContext(w3, deployment, ChainClient(w3, signer(settings, w3)))


def write_dev_accounts(settings: Settings, count: int) -> Path:
    """Record the local node's dev addresses and keys (public anvil keys) for other tools."""
    path = settings.chain_dir / "dev-accounts.json"
    accounts = [dev_account(i) for i in range(count)]
    path.write_text(json.dumps(
        [{"index": i, "address": a.address, "private_key": a.key.hex()}
         for i, a in enumerate(accounts)], indent=1))
    return path
