"""``fedmarket chain up | status | down``: the local node and the contract deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fedmarket.chain.client import connect
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
