"""Registration commands shared by trainers and verifiers: stake, join, leave, withdraw."""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.chain.types import Membership, ParticipantKind
from fedmarket.cli.common import JsonOpt, emit, user_errors
from fedmarket.cli.context import (
    AccountOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    RpcOpt,
    ether_to_wei,
    role_context,
    wei_to_ether,
)
from fedmarket.errors import ConfigError

__all__ = ["register", "join", "withdraw", "add_participant_commands"]


def add_participant_commands(app: typer.Typer, kind: ParticipantKind, default_stake: str) -> None:
    """Add ``register``, ``join`` and ``withdraw`` for ``kind`` to a role's sub-app."""
    role = kind.name.lower()

    @app.command("register", help=f"Stake as a {role} (a top-up if already registered).")
    def register_cmd(
        stake: str = typer.Option(default_stake, "--stake", help="Stake in ether."),
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        register(kind, stake, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)

    @app.command("join", help=f"Join a project as a {role}.")
    def join_cmd(
        project: int = typer.Argument(..., help="Project id."),
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        join(kind, project, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)

    @app.command("withdraw", help=f"Withdraw the {role} stake (once no open project binds "
                                  "it) and any credits.")
    def withdraw_cmd(
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        withdraw(kind, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)


def register(kind: ParticipantKind, stake: str, conn: Conn, as_json: bool) -> None:
    """Stake (or top up) as ``kind``."""
    with user_errors(), role_context(conn) as ctx:
        registry = ctx.contracts.registry
        amount = ether_to_wei(stake, "--stake")
        minimum = registry.min_stake(kind)
        current = registry.stake_of(kind)
        if current == 0 and amount < minimum:
            raise ConfigError(f"--stake {stake} ETH is below the minimum "
                              f"{wei_to_ether(minimum)} ETH for a {kind.name.lower()}")
        if current == 0:
            registry.register(kind, amount)
        else:
            registry.top_up(kind, amount)
        total = registry.stake_of(kind)
        emit(as_json, {"address": ctx.address, "kind": kind.name.lower(),
                       "stake_wei": str(total)},
             f"{ctx.address} staked as {kind.name.lower()}: {wei_to_ether(total)} ETH")


def join(kind: ParticipantKind, project: int, conn: Conn, as_json: bool) -> None:
    """Join ``project`` as ``kind`` (the stake stays locked until the project ends)."""
    with user_errors(), role_context(conn) as ctx:
        market = ctx.contracts.market
        wanted = Membership.TRAINER if kind == ParticipantKind.TRAINER else Membership.VERIFIER
        if market.membership(project) == wanted:
            emit(as_json, {"project": project, "address": ctx.address, "joined": True},
                 f"{ctx.address} is already a {kind.name.lower()} of project {project}")
            return
        if kind == ParticipantKind.TRAINER:
            market.join_as_trainer(project)
        else:
            market.join_as_verifier(project)
        emit(as_json, {"project": project, "address": ctx.address, "joined": True},
             f"{ctx.address} joined project {project} as {kind.name.lower()}")


def withdraw(kind: ParticipantKind, conn: Conn, as_json: bool) -> None:
    """Withdraw the stake (refused while bound to an open project) and any credits."""
    with user_errors(), role_context(conn) as ctx:
        registry, market = ctx.contracts.registry, ctx.contracts.market
        paid = registry.withdraw(kind) if registry.stake_of(kind) > 0 else 0
        credits = market.withdraw() if market.credit_of() > 0 else 0
        emit(as_json, {"address": ctx.address, "stake_wei": str(paid),
                       "credits_wei": str(credits)},
             f"withdrew {wei_to_ether(paid)} ETH stake and {wei_to_ether(credits)} ETH "
             f"credits to {ctx.address}")
