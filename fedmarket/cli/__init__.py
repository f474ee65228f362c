"""The ``fedmarket`` command: one typer app with one sub-app per concern."""

from __future__ import annotations

import typer

from fedmarket import __version__
from fedmarket.cli.aggregator import app as aggregator_app
from fedmarket.cli.api import app as api_app
from fedmarket.cli.audit import audit
from fedmarket.cli.chain import app as chain_app
from fedmarket.cli.demo import demo
from fedmarket.cli.project import app as project_app
from fedmarket.cli.rewards import claim, rewards
from fedmarket.cli.settlement import compensation, reclaim, release
from fedmarket.cli.store import app as store_app
from fedmarket.cli.trainer import app as trainer_app
from fedmarket.cli.verifier import app as verifier_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="fedmarket",
    help="A marketplace for federated training on an Ethereum chain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(chain_app, name="chain")
app.add_typer(store_app, name="store")
project_app.command("release")(release)
project_app.command("reclaim")(reclaim)
trainer_app.command("compensation")(compensation)
app.add_typer(project_app, name="project")
app.add_typer(trainer_app, name="trainer")
app.add_typer(aggregator_app, name="aggregator")
app.add_typer(verifier_app, name="verifier")
app.add_typer(api_app, name="api")
app.command("rewards")(rewards)
app.command("claim")(claim)
app.command("demo")(demo)
app.command("audit")(audit)


@app.command()
def version() -> None:
    """Print the fedmarket version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
