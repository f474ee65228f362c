"""``fedmarket chain up | status | down``: the local node and the contract deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fedmarket.chain.client import ChainClient, connect
from fedmarket.chain.context import deployment_path
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.localnet import ensure_local_chain
from fedmarket.chain.node import LocalNode
from fedmarket.cli.common import JsonOpt, emit, settings_from, user_errors
from fedmarket.config import Settings

app = typer.Typer(help="Start, inspect and stop the local chain; deploy the contracts.",
                  no_args_is_help=True)

DataDirOpt = typer.Option(None, "--data-dir", help="Data dir (default ./.fedmarket).")


def _describe(settings: Settings, url: str, deployment: Deployment, fresh: bool,
              pid: int | None) -> dict[str, Any]:
    w3 = connect(url)
    return {
        "running": True, "url": url, "pid": pid, "chain_id": deployment.chain_id,
        "block": w3.eth.block_number, "freshly_deployed": fresh,
        "data_dir": str(settings.data_dir),
        "contracts": {n: {"address": c.address, "block": c.block}
                      for n, c in sorted(deployment.contracts.items())},
    }


def _text(info: dict[str, Any]) -> str:
    lines = [f"chain {info['chain_id']} at {info['url']} "
             f"(pid {info['pid']}, block {info['block']})"]
    for name, c in info["contracts"].items():
        lines.append(f"  {name:<22} {c['address']}  (block {c['block']})")
    return "\n".join(lines)


@app.command()
def up(
    port: int = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one)."),
    data_dir: Path = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Start the local node (state kept on disk) and deploy the contracts once."""
    settings = settings_from(data_dir=data_dir)
    with user_errors():
        local = ensure_local_chain(settings, port)
        described = _describe(settings, local.node.url, local.deployment,
                              local.freshly_deployed, local.node.pid)
        emit(as_json, described, _text(described))


@app.command()
def status(data_dir: Path = DataDirOpt, as_json: bool = JsonOpt) -> None:
    """Show whether the local node runs, its head block and the deployed addresses."""
    settings = settings_from(data_dir=data_dir)
    with user_errors():
        info = LocalNode(settings.chain_dir).running_info()
        if info is None:
            emit(as_json, {"running": False, "data_dir": str(settings.data_dir)},
                 f"no local node running for {settings.data_dir}")
            raise typer.Exit(3)
        path = deployment_path(settings)
        deployment = Deployment.load(path) if path.is_file() else Deployment(info.chain_id)
        described = _describe(settings, info.url, deployment, False, info.pid)
        emit(as_json, described, _text(described))


@app.command()
def down(data_dir: Path = DataDirOpt, as_json: bool = JsonOpt) -> None:
    """Stop the local node; its state stays on disk for the next `chain up`."""
    settings = settings_from(data_dir=data_dir)
    with user_errors():
        stopped = LocalNode(settings.chain_dir).stop()
        emit(as_json, {"stopped": stopped},
             "node stopped (state kept)" if stopped else "no local node was running")


@app.command()
def deploy(
    data_dir: Path = DataDirOpt,
    rpc_url: str = typer.Option(None, "--rpc-url", help="JSON-RPC URL of the target chain."),
    key_file: Path = typer.Option(None, "--key-file", help="File holding the deployer's key."),
    account: int = typer.Option(None, "--account", help="Dev account (local chain only)."),
    force: bool = typer.Option(False, "--force", help="Deploy even if a live deployment exists."),
    as_json: bool = JsonOpt,
) -> None:
    """Deploy the contracts to any chain (e.g. a public testnet) and record the addresses."""
    from fedmarket.chain.context import rpc_url_for, signer
    from fedmarket.chain.deploy import deploy_contracts

    settings = settings_from(data_dir=data_dir, rpc_url=rpc_url, key_file=key_file,
                             account=account)
    with user_errors():
        w3 = connect(rpc_url_for(settings))
        path = deployment_path(settings)
        if path.is_file() and not force and Deployment.load(path).is_live(w3):
            deployment, fresh = Deployment.load(path), False
        else:
            deployment, fresh = deploy_contracts(ChainClient(w3, signer(settings, w3))), True
            deployment.save(path)
        described = _describe(settings, rpc_url_for(settings), deployment, fresh, None)
        emit(as_json, described, _text(described))
