"""``fedmarket rewards ADDRESS`` and ``fedmarket claim PROJECT``."""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.cli.common import JsonOpt, checked_address, emit, user_errors
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
from fedmarket.rewards_query import claim_rewards, rewards_of


def rewards(
    address: str = typer.Argument(..., help="Trainer address."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Show what an address earned, claimed and can claim, round by round."""
    with user_errors():
        address = checked_address(address, "address")
        with role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
            summary = rewards_of(ctx.contracts, ctx.store, address)
        data = {"address": summary.address, "earned_wei": str(summary.earned_wei),
                "claimed_wei": str(summary.claimed_wei),
                "claimable_wei": str(summary.claimable_wei),
                "rounds": [{"project": line.project, "round": line.round,
                            "amount_wei": str(line.amount_wei), "claimed": line.claimed,
                            "proof": ["0x" + p.hex() for p in line.proof]}
                           for line in summary.lines]}
        lines = [f"{summary.address}: earned {wei_to_ether(summary.earned_wei)} ETH, claimed "
                 f"{wei_to_ether(summary.claimed_wei)} ETH, claimable "
                 f"{wei_to_ether(summary.claimable_wei)} ETH"]
        lines += [f"  project {line.project} round {line.round}: "
                  f"{wei_to_ether(line.amount_wei)} ETH{' (claimed)' if line.claimed else ''}"
                  for line in summary.lines]
        emit(as_json, data, "\n".join(lines))


def claim(
    project: int = typer.Argument(None, help="Project id (default: every project)."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, as_json: bool = JsonOpt,
) -> None:
    """Claim every unclaimed reward of this account in one transaction (Merkle proofs)."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        paid, lines = claim_rewards(ctx.contracts, ctx.store, ctx.address,
                                    [project] if project is not None else None)
        emit(as_json, {"address": ctx.address, "paid_wei": str(paid),
                       "rounds": [{"project": x.project, "round": x.round,
                                   "amount_wei": str(x.amount_wei)} for x in lines]},
             f"claimed {wei_to_ether(paid)} ETH for {ctx.address} over {len(lines)} round(s)"
             if paid else f"nothing to claim for {ctx.address}")
