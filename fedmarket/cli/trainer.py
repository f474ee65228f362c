"""``fedmarket trainer register | join | run | withdraw``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from fedmarket.chain.types import ParticipantKind
from fedmarket.cli import participants
from fedmarket.cli.common import (
    ConsoleReporter,
    JsonOpt,
    check_project_exists,
    console,
    emit,
    fail,
    user_errors,
)
from fedmarket.cli.context import (
    AccountOpt,
    Conn,
    DataDirOpt,
    IpfsOpt,
    KeyFileOpt,
    LabelColumnOpt,
    ReadyFileOpt,
    RpcOpt,
    TextColumnOpt,
    role_context,
)
from fedmarket.data_fit import read_options
from fedmarket.datasets import load_data
from fedmarket.protocol import load_spec
from fedmarket.readiness import announce_ready
from trainer.client import RoundSubmission, TrainerClient
from trainer.local_training import ProgressCallback, TrainingProgress

app = typer.Typer(help="Train on private data and get paid for the contribution.",
                  no_args_is_help=True)


participants.add_participant_commands(app, ParticipantKind.TRAINER, "0.1")


class _RichReporter(ConsoleReporter):
    """Progress bar per round and a one-line summary, on the console."""

    def __init__(self, quiet: bool):
        super().__init__(quiet)
        self.bar: Progress | None = None
        self.task: int | None = None

    def round_started(self, project: int, round_: int, samples: int) -> None:
        if self.quiet:
            return
        self.bar = Progress(TextColumn(f"project {project} round {round_}"), BarColumn(),
                            TextColumn("{task.completed}/{task.total} batches"),
                            TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(),
                            console=console, transient=True)
        self.task = self.bar.add_task("train", total=None, loss=float("nan"))
        self.bar.start()

    def progress(self) -> ProgressCallback | None:
        def update(p: TrainingProgress) -> None:
            if self.bar is not None and self.task is not None:
                self.bar.update(self.task, total=p.steps, completed=p.step,  # type: ignore[arg-type]
                                loss=p.loss)
        return None if self.quiet else update

    def say(self, message: str) -> None:
        """A line replaces the round's progress bar."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        super().say(message)

    def submitted(self, s: RoundSubmission) -> None:
        loss = f"{s.loss:.4f}" if s.loss is not None else "-"
        self.say(f"round {s.round}: loss {loss}, {s.samples} samples, update {s.cid}, "
                 f"reveal tx {s.reveal_tx[:18]}…")


@app.command()
def run(
    project: int = typer.Argument(..., help="Project id."),
    data: str = typer.Option(..., "--data", help="Private data: 'digits', .csv, .npz, a "
                                                  "folder of class subfolders, or text "
                                                  "(.jsonl/.csv) for a token model."),
    label_column: str = LabelColumnOpt, text_column: str = TextColumnOpt,
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: cuda if "
                                                      "available)."),
    rounds: int = typer.Option(None, "--rounds", min=1, help="Stop after this many rounds."),
    timeout: float = typer.Option(3600, "--timeout", help="Give up after this many seconds."),
    data_dir: Path = DataDirOpt, account: int = AccountOpt, rpc_url: str = RpcOpt,
    key_file: Path = KeyFileOpt, ipfs_api: str = IpfsOpt, ready_file: Path = ReadyFileOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Train every round of a joined project: fetch, train, upload, commit, reveal."""
    with user_errors():
        with role_context(Conn(data_dir, account, rpc_url, key_file, ipfs_api)) as ctx:
            # The project's spec says how to read the data (a text task tokenizes it to the
            # spec's length); TrainerClient.run then checks the data fits before any round.
            market = ctx.contracts.market
            check_project_exists(project, market.project_count())
            spec = load_spec(ctx.store, market.project(project).params.model_spec_cid)
            dataset = load_data(data, read_options(spec, label_column, text_column))
            client = TrainerClient(
                ctx.contracts, ctx.store, dataset,
                ctx.settings.data_dir / "trainer" / ctx.address.lower() / "pending",
                device=device, reporter=_RichReporter(quiet=as_json))
            announce_ready(ready_file)
            done = client.run(project, max_rounds=rounds, timeout=timeout)
            if not done:  # say why, and exit non-zero: a trainer that did nothing failed
                status = ctx.contracts.market.project(project).status.name.lower()
                why = "; ".join(reason for (p, _), reason in sorted(client.missed.items())
                                if p == project) or "no round was open for it"
                fail(f"submitted nothing to project {project} (now {status}): {why}")
        emit(as_json, {"project": project, "rounds": [
            {"round": s.round, "cid": s.cid, "samples": s.samples, "loss": s.loss,
             "commit_tx": s.commit_tx, "reveal_tx": s.reveal_tx, "device": s.device}
            for s in done]}, f"submitted {len(done)} round(s) to project {project}")
