"""``fedmarket audit PROJECT``: re-execute every round and check every payment."""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.cli.common import JsonOpt, console, emit, user_errors
from fedmarket.cli.context import (
    AccountOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    RpcOpt,
    role_context,
)
from fedmarket.errors import ConfigError


def audit(
    project: int = typer.Argument(..., help="Project id."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Re-run every round from chain + storage; one pass/fail line per round; exit 1 on fail."""
    from verifier.audit import audit_project

    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        if not 1 <= project <= ctx.contracts.market.project_count():
            raise ConfigError(f"project {project} does not exist")
        result = audit_project(ctx.contracts, ctx.store, project,
                               ctx.chain.deployment.start_block)
    if as_json:
        emit(True, result.to_json())
    else:
        for line in result.lines:
            name = f"round {line.round}" if line.round else "books"
            mark = "[green]PASS[/]" if line.passed else "[bold red]FAIL[/]"
            detail = "; ".join(line.problems) if line.problems else "; ".join(line.checks)
            console.print(f"{mark} {name:<8} {line.status:<22} {detail}", highlight=False)
    if not result.passed:
        raise typer.Exit(1)
