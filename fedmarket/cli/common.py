"""What every CLI command shares: settings from flags, one-line errors, ``--json`` output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from fedmarket.config import Settings, load_settings
from fedmarket.errors import FedmarketError

__all__ = ["ConsoleReporter", "console", "err_console", "fail", "emit", "user_errors",
           "settings_from", "JsonOpt"]

console = Console()
err_console = Console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")


class ConsoleReporter:
    """Base of the role commands' reporters: lines for people, silence under ``--json``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def say(self, message: str) -> None:
        """Print one line unless quiet."""
        if not self.quiet:
            console.print(message, highlight=False)

    def note(self, message: str) -> None:
        """Anything a role loop wants the user to know."""
        self.say(message)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line reason on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn any :class:`FedmarketError` into a one-line message and exit status 1."""
    try:
        yield
    except FedmarketError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def emit(as_json: bool, data: dict[str, Any] | list[Any], text: str | None = None) -> None:
    """Print ``data`` as JSON (one object, stdout) or ``text`` for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, sort_keys=True, default=str) + "\n")
    else:
        console.print(text if text is not None else data, highlight=False, soft_wrap=True)


def settings_from(**flags: Any) -> Settings:
    """Build settings with the given flags taking precedence over env and fedmarket.toml."""
    try:
        return load_settings(flags)
    except FedmarketError as exc:
        fail(str(exc))
