"""``fedmarket aggregator run``: bond, aggregate, score, pay and publish every round."""

from __future__ import annotations

from pathlib import Path

import typer

from aggregator.service import AggregatorService, PublishedRound
from fedmarket.cli.common import ConsoleReporter, JsonOpt, emit, fail, user_errors
from fedmarket.cli.context import (
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    ReadyFileOpt,
    RpcOpt,
    role_context,
    wei_to_ether,
)
from fedmarket.errors import ChainError
from fedmarket.readiness import announce_ready

app = typer.Typer(help="Aggregate a project's rounds (the aggregator's side).",
                  no_args_is_help=True)


class _ConsoleReporter(ConsoleReporter):
    def published(self, p: PublishedRound) -> None:
        accuracy = f", accuracy {p.accuracy:.3f}" if p.accuracy is not None else ""
        self.say(f"round {p.round}: {p.accepted} accepted, {p.rejected} rejected, "
                 f"{wei_to_ether(p.total_wei)} ETH awarded{accuracy}; result {p.result_cid}")


@app.command()
def run(
    project: int = typer.Argument(..., help="Project id."),
    timeout: float = typer.Option(3600, "--timeout", help="Give up after this many seconds."),
    data_dir: Path = DataDirOpt,
    account: int = typer.Option(2, "--account", help="Aggregator's dev account."),
    rpc_url: str = RpcOpt, key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt,
    ready_file: Path = ReadyFileOpt, as_json: bool = JsonOpt,
) -> None:
    """Start the project (bond) and publish every round's result until it ends."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        service = AggregatorService(ctx.contracts, ctx.store, ctx.chain.deployment.start_block,
                                    reporter=_ConsoleReporter(as_json))
        announce_ready(ready_file)
        try:
            published = service.run(project, timeout=timeout)
        except ChainError:
            if not service.uncomputable:
                raise
            published = []  # gave up waiting: the rounds it could not compute are the news
        if service.uncomputable:  # those rounds are lost: say why and exit non-zero
            fail("could not compute " + "; ".join(
                f"round {r} of project {p} ({why})"
                for (p, r), why in sorted(service.uncomputable.items()))
                + f"; published {len(published)} round(s)")
        emit(as_json, {"project": project, "rounds": [
            {"round": p.round, "model_cid": p.model_cid, "result_cid": p.result_cid,
             "result_hash": p.result_hash, "accepted": p.accepted, "rejected": p.rejected,
             "total_wei": str(p.total_wei), "accuracy": p.accuracy, "tx": p.tx}
            for p in published]}, f"published {len(published)} round(s) of project {project}")
