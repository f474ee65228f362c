"""Registration commands shared by trainers and verifiers: stake, join, leave, withdraw.

Trainers join projects (a seat, their stake bound until the project ends). Verifiers join
nothing: every round draws its committee from all registered verifiers, and a verifier's stake
is bound only by its votes in rounds that have not settled yet.
"""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.chain.types import Membership, ParticipantKind, ProjectStatus
from fedmarket.cli.common import JsonOpt, emit, user_errors
from fedmarket.cli.context import (
    AccountOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    RoleContext,
    RpcOpt,
    ether_to_wei,
    role_context,
    wei_to_ether,
)
from fedmarket.errors import ConfigError

__all__ = ["register", "join", "leave", "withdraw", "add_participant_commands"]


def add_participant_commands(app: typer.Typer, kind: ParticipantKind, default_stake: str) -> None:
    """Add ``register`` and ``withdraw`` for ``kind``, and ``join``/``leave`` for trainers.

    Verifiers are drawn per round from the whole registry: they join nothing.
    """
    role = kind.name.lower()

    @app.command("register", help=f"Stake as a {role} (a top-up if already registered).")
    def register_cmd(
        stake: str = typer.Option(default_stake, "--stake", help="Stake in ether."),
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        register(kind, stake, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)

    @app.command("withdraw", help=f"Leave every ended project, then withdraw the {role} stake "
                                  "and any credits.")
    def withdraw_cmd(
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        withdraw(kind, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)

    if kind == ParticipantKind.TRAINER:
        _add_seat_commands(app, kind)


def _add_seat_commands(app: typer.Typer, kind: ParticipantKind) -> None:
    role = kind.name.lower()

    @app.command("join", help=f"Join a project as a {role} (you commit from the next round "
                              "that starts).")
    def join_cmd(
        project: int = typer.Argument(..., help="Project id."),
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        join(kind, project, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)

    @app.command("leave", help=f"Leave a project that is not running, as a {role}.")
    def leave_cmd(
        project: int = typer.Argument(..., help="Project id."),
        data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
        key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
    ) -> None:
        leave(kind, project, Conn(data_dir, account, rpc_url, key_file, ipfs_api), as_json)


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
        if market.membership(project) == _membership(kind):
            emit(as_json, {"project": project, "address": ctx.address, "joined": True},
                 f"{ctx.address} is already a {kind.name.lower()} of project {project}")
            return
        market.join_as_trainer(project)
        first = market.trainer_status(project)[0]
        emit(as_json, {"project": project, "address": ctx.address, "joined": True,
                       "first_round": first},
             f"{ctx.address} joined project {project} as {kind.name.lower()}; "
             f"it commits from round {first}")


def withdraw(kind: ParticipantKind, conn: Conn, as_json: bool) -> None:
    """Leave every ended project, then withdraw the stake and any credits in one command.

    A stake stays bound to each project its owner joined until it calls ``leave`` there, which
    the contract allows once the project is no longer running. Ended projects (finished,
    aborted, cancelled) are left here; a project still created or running keeps the stake, and
    the message names it.
    """
    with user_errors(), role_context(conn) as ctx:
        registry, market = ctx.contracts.registry, ctx.contracts.market
        left, binding = (_leave_ended(ctx, kind) if kind == ParticipantKind.TRAINER
                         else ([], _unsettled_votes(ctx)))
        role = kind.name.lower()
        if binding:
            raise ConfigError(
                f"the {role} stake of {ctx.address} is still bound by "
                f"{'; '.join(binding)}; it can be withdrawn once "
                f"{'that project ends' if len(binding) == 1 else 'those projects end'}"
                + (f" (left ended project(s) {', '.join(map(str, left))})" if left else ""))
        paid = registry.withdraw(kind) if registry.stake_of(kind) > 0 else 0
        credits = market.withdraw() if market.credit_of() > 0 else 0
        released = f" after leaving ended project(s) {', '.join(map(str, left))}" if left else ""
        text = (f"withdrew {wei_to_ether(paid)} ETH stake and {wei_to_ether(credits)} ETH "
                f"credits to {ctx.address}{released}" if paid or credits
                else f"nothing to withdraw: {ctx.address} has no {role} stake and no credits")
        emit(as_json, {"address": ctx.address, "stake_wei": str(paid),
                       "credits_wei": str(credits), "left_projects": left}, text)


def leave(kind: ParticipantKind, project: int, conn: Conn, as_json: bool) -> None:
    """Leave a project that is not running (created or ended), releasing its stake binding."""
    with user_errors(), role_context(conn) as ctx:
        market = ctx.contracts.market
        if market.membership(project) != _membership(kind):
            raise ConfigError(f"{ctx.address} is not a {kind.name.lower()} of project {project}")
        market.leave(project)
        emit(as_json, {"project": project, "address": ctx.address, "left": True},
             f"{ctx.address} left project {project}")


def _membership(kind: ParticipantKind) -> Membership:
    return Membership.TRAINER if kind == ParticipantKind.TRAINER else Membership.NONE


def _unsettled_votes(ctx: RoleContext) -> list[str]:
    """What binds a verifier's stake: its votes in rounds that have not settled yet."""
    votes = ctx.contracts.registry.bindings(ParticipantKind.VERIFIER)
    if votes == 0:
        return []
    return [f"{votes} vote(s) in rounds not settled yet (released when each round is "
            "finalized, disputed or refunded; anyone may call `advance` after its deadline)"]


def _leave_ended(ctx: RoleContext, kind: ParticipantKind) -> tuple[list[int], list[str]]:
    """Leave every ended project ``kind`` joined; return those left and what still binds."""
    market = ctx.contracts.market
    joined = market.contract.contract.events.Joined().get_logs(
        argument_filters={"account": ctx.address}, from_block=ctx.chain.deployment.start_block)
    left: list[int] = []
    binding: list[str] = []
    for project in sorted({int(log["args"]["project"]) for log in joined}):
        if market.membership(project) != _membership(kind):
            continue  # left already, or joined in the other role
        info = market.project(project)
        if info.status in _ENDED:
            market.leave(project)
            left.append(project)
        elif info.status == ProjectStatus.CREATED:
            binding.append(f"project {project} (not started yet; `fedmarket {kind.name.lower()} "
                           f"leave {project}` releases it)")
        else:
            binding.append(f"project {project} ({info.status.name.lower()}, round "
                           f"{info.current_round} of {info.params.rounds})")
    return left, binding


_ENDED = (ProjectStatus.FINISHED, ProjectStatus.ABORTED, ProjectStatus.CANCELLED)
