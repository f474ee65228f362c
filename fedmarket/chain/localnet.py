"""The local development chain as one call: node running, contracts deployed, addresses known.

Used by ``fedmarket chain up`` and ``fedmarket demo``: start anvil for the data dir unless it
already runs, then reuse the recorded deployment if its code is on that chain, else deploy.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.context import deployment_path, write_dev_accounts
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.node import DEV_ACCOUNTS, LocalNode, NodeInfo
from fedmarket.config import Settings

__all__ = ["LocalChain", "ensure_local_chain"]


@dataclass(frozen=True)
class LocalChain:
    """A running local node and the live deployment on it."""

    node: NodeInfo
    deployment: Deployment
    freshly_deployed: bool


def ensure_local_chain(settings: Settings, port: int | None = None) -> LocalChain:
    """Start (or reuse) the data dir's node and make sure the contracts are deployed."""
    from fedmarket.chain.deploy import deploy_contracts

    node = LocalNode(settings.chain_dir, port=port, detach=True)
    info = node.running_info() or node.start()
    w3 = connect(info.url)
    path = deployment_path(settings)
    if path.is_file():
        existing = Deployment.load(path)
        if existing.is_live(w3):
            return LocalChain(info, existing, False)
    deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
    deployment.save(path)
    write_dev_accounts(settings, DEV_ACCOUNTS)
    return LocalChain(info, deployment, True)
