"""``fedmarket demo``: the whole market in one command."""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.cli.common import JsonOpt, console, emit, err_console, fail, user_errors
from fedmarket.cli.context import CompressionOpt, DataDirOpt, TopkFractionOpt
from fedmarket.compression_spec import Compression
from fedmarket.demo import DemoConfig, run_demo
from fedmarket.demo.processes import sigterm_as_interrupt
from fedmarket.demo.report import print_report


def demo(
    trainers: int = typer.Option(8, "--trainers", help="Trainers (each its own process)."),
    malicious: int = typer.Option(2, "--malicious", help="How many of them attack."),
    attack: str = typer.Option("sign_flip", "--attack", help="Attack of the malicious ones: "
                               "any registered one, e.g. sign_flip, alie, min_max, min_sum, "
                               "fang_krum, fang_trmean, backdoor (an unknown name lists all)."),
    rounds: int = typer.Option(3, "--rounds", help="Training rounds."),
    budget: str = typer.Option("10", "--budget", help="Escrowed reward, in ether."),
    model: str = typer.Option("mlp", "--model", help="mlp or cnn (the digits example)."),
    example: str = typer.Option("digits", "--example",
                                help="digits, tabular (breast cancer, MLP), images (3x16x16 "
                                     "shapes, CNN) or text (topic sentences, transformer)."),
    rule: str = typer.Option("trusted", "--rule", help="Robust rule (default: the project "
                             "default, trusted); every round's payout proof shows in the "
                             "round table."),
    byzantine: int = typer.Option(None, "--f", help="f of a rule that takes one "
                                  "(default: floor((trainers - 3) / 2))."),
    scoring: str = typer.Option("group_shapley", "--scoring",
                                help="group_shapley, gtg_shapley, leave_one_out or cosine."),
    alpha: float = typer.Option(0.5, "--alpha", help="Dirichlet alpha of the non-IID split."),
    compression: str = CompressionOpt, topk_fraction: float = TopkFractionOpt,
    timeout: float = typer.Option(900, "--timeout", help="Give up after this many seconds."),
    data_dir: Path = DataDirOpt,
    port: int = typer.Option(None, "--port", help="Port for a new local node."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the whole market on the local chain and print who earned what.

    Every option is checked before a node or a role starts; on any failure, Ctrl-C or SIGTERM
    every process the demo started is stopped (the node too, if the demo started it).
    """
    with user_errors(), sigterm_as_interrupt():
        config = DemoConfig(data_dir=data_dir, trainers=trainers, malicious=malicious,
                            attack=attack, rounds=rounds, budget_ether=budget, model=model,
                            example=example, rule=rule, byzantine=byzantine,
                            scoring=scoring, alpha=alpha, timeout=timeout, port=port,
                            compression=Compression(compression, topk_fraction))
        try:
            report = run_demo(config, err_console, show_progress=not as_json)
        except KeyboardInterrupt:
            fail("demo interrupted; every process it started was stopped", code=130)
        if as_json:
            emit(True, report)
        else:
            print_report(report, console)
            console.print(f"the node keeps running at {report['url']}: `fedmarket api serve` "
                          "shows this project; `fedmarket chain down` stops it", highlight=False)
