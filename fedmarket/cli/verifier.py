"""``fedmarket verifier register | join | run | withdraw``."""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.chain.types import ParticipantKind
from fedmarket.cli import participants
from fedmarket.cli.common import ConsoleReporter, JsonOpt, emit, user_errors
from fedmarket.cli.context import (
    AccountOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    ReadyFileOpt,
    RpcOpt,
    role_context,
)
from fedmarket.readiness import announce_ready
from verifier.service import Attested, VerifierService

app = typer.Typer(help="Re-execute rounds and attest on chain (the verifier's side).",
                  no_args_is_help=True)


participants.add_participant_commands(app, ParticipantKind.VERIFIER, "0.5")


class _ConsoleReporter(ConsoleReporter):
    def __init__(self, quiet: bool):
        super().__init__(quiet)
        self.attestations: list[Attested] = []

    def attested(self, a: Attested) -> None:
        self.attestations.append(a)
        verdict = "agree" if a.agree else "DISAGREE"
        extra = f" ({'; '.join(a.differences[:3])})" if a.differences else ""
        self.say(f"project {a.project} round {a.round}: {verdict}{extra}; report "
                 f"{a.report_cid}")


@app.command()
def run(
    project: list[int] = typer.Option(None, "--project", help="Watch only these projects "
                                                               "(default: every one joined)."),
    timeout: float = typer.Option(3600, "--timeout", help="Stop after this many seconds."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, ready_file: Path = ReadyFileOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Re-execute and attest every posted round of the watched projects until they end."""
    with user_errors(), role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
        reporter = _ConsoleReporter(as_json)
        service = VerifierService(ctx.contracts, ctx.store, ctx.chain.deployment.start_block,
                                  reporter=reporter)
        announce_ready(ready_file)
        service.run(project or None, timeout=timeout)
        emit(as_json, {"attestations": [
            {"project": a.project, "round": a.round, "agree": a.agree,
             "report_cid": a.report_cid, "differences": list(a.differences), "tx": a.tx}
            for a in reporter.attestations]},
             f"attested {len(reporter.attestations)} round(s)")
