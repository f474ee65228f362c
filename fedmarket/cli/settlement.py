"""Commands for the market's settlement paths that anyone, or one harmed party, may take.

* ``fedmarket project release ID ADDRESS`` — free the seat of a trainer who was due in the
  current round and did not commit once commits are over (it pays a tenth of the minimum
  trainer stake into the project's escrow and may not rejoin);
* ``fedmarket project reclaim ID ROUND`` — after a funded round's claim window, return what
  nobody claimed to the owner (credited; the owner withdraws it with ``project finish``);
* ``fedmarket trainer compensation ID [--round R]`` — a trainer who revealed in a round whose
  aggregator was slashed takes its share of the bond, and withdraws it.

Each checks what it can before sending a transaction and refuses with one sentence.
"""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.chain.types import SubmissionStatus
from fedmarket.cli.common import (
    JsonOpt,
    check_project_exists,
    checked_address,
    emit,
    user_errors,
)
from fedmarket.cli.context import (
    AccountOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    RpcOpt,
    role_context,
    wei_to_ether,
)
from fedmarket.errors import ConfigError

__all__ = ["release", "reclaim", "compensation"]


def release(
    project: int = typer.Argument(..., help="Project id."),
    trainer: str = typer.Argument(..., help="Address of the trainer who did not commit."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Free the seat of a trainer that did not commit in the current round (anyone may)."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        market = ctx.contracts.market
        check_project_exists(project, market.project_count())
        address = checked_address(trainer, "TRAINER")
        receipt = market.release(project, address)
        penalty = sum(int(e["penalty"]) for e in market.contract.events("SeatReleased", receipt))
        emit(as_json, {"project": project, "trainer": address, "penalty_wei": str(penalty)},
             f"released {address} from project {project}; {wei_to_ether(penalty)} ETH of its "
             "stake went into the project's escrow")


def reclaim(
    project: int = typer.Argument(..., help="Project id."),
    round_: int = typer.Argument(..., metavar="ROUND", help="A funded round."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """After a round's claim window: return its unclaimed rewards to the owner (anyone may)."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        rewards = ctx.contracts.rewards
        check_project_exists(project, ctx.contracts.market.project_count())
        funds = rewards.round_funds(project, round_)
        rest = funds.total_wei - funds.claimed_wei
        receipt = rewards.reclaim_expired(project, round_)
        del receipt
        emit(as_json, {"project": project, "round": round_, "returned_wei": str(rest)},
             f"returned {wei_to_ether(rest)} ETH of project {project} round {round_} that "
             "nobody claimed to the owner")


def compensation(
    project: int = typer.Argument(..., help="Project id."),
    round_: int | None = typer.Option(None, "--round", help="Round (default: every round)."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Take this trainer's share of a slashed aggregator bond, then withdraw it."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        market = ctx.contracts.market
        check_project_exists(project, market.project_count())
        info = market.project(project)
        rounds = [round_] if round_ is not None else list(range(1, info.current_round + 1))
        due = [r for r in rounds if market.compensation(project, r)[1] > 0
               and market.submission(project, r) == SubmissionStatus.REVEALED]
        if not due:
            raise ConfigError(f"{ctx.address} has no compensation to take in project {project}: "
                              "only a trainer who revealed in a round whose aggregator was "
                              "slashed, once, within the claim window")
        taken = sum(market.claim_compensation(project, r) for r in due)
        paid = market.withdraw() if market.credit_of() > 0 else 0
        emit(as_json, {"project": project, "rounds": due, "compensation_wei": str(taken),
                       "withdrawn_wei": str(paid)},
             f"took {wei_to_ether(taken)} ETH of slashed bond for round(s) "
             f"{', '.join(map(str, due))} of project {project}; withdrew {wei_to_ether(paid)} ETH")
