"""The ``fedmarket`` command: one typer app with one sub-app per concern."""

from __future__ import annotations

import typer

from fedmarket import __version__
from fedmarket.cli.chain import app as chain_app
from fedmarket.cli.store import app as store_app

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


@app.command()
def version() -> None:
    """Print the fedmarket version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
