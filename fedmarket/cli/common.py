"""What every CLI command shares: settings from flags, one-line errors, ``--json`` output."""

from __future__ import annotations

import json
import string
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from eth_utils import to_checksum_address
from rich.console import Console

from fedmarket.chain.error_messages import describe_revert
from fedmarket.config import Settings, load_settings
from fedmarket.errors import ConfigError, ContractRevert, FedmarketError

__all__ = ["ConsoleReporter", "console", "err_console", "fail", "emit", "user_errors",
           "settings_from", "checked_address", "JsonOpt"]

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
    """Turn any :class:`FedmarketError` into a one-line message and exit status 1.

    A contract's custom error becomes its sentence (:mod:`fedmarket.chain.error_messages`).
    """
    try:
        yield
    except ContractRevert as exc:
        fail(describe_revert(exc))
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


def check_project_exists(project: int, count: int) -> None:
    """Refuse an unknown project id in one sentence, before any transaction is built."""
    if not 1 <= project <= count:
        raise ConfigError(f"project {project} does not exist (there are {count})")


def checked_address(text: str, what: str) -> str:
    """An Ethereum address from the command line, checksummed; refused with one sentence.

    All-lowercase (or all-uppercase) hex carries no checksum and is accepted; mixed case is an
    EIP-55 checksum, and one that does not match means a mistyped address, so it is refused
    rather than sending funds or rights to an address nobody meant.
    """
    value = text.strip()
    body = value[2:] if value[:2] in ("0x", "0X") else ""
    if len(body) != 40 or any(c not in string.hexdigits for c in body):
        raise ConfigError(f"{what} {text!r} is not an Ethereum address (0x and 40 hex digits)")
    checksummed = to_checksum_address("0x" + body.lower())
    mixed = body != body.lower() and body != body.upper()
    if mixed and "0x" + body != checksummed:
        raise ConfigError(f"{what} {text!r} fails its EIP-55 checksum, so a character is "
                          "mistyped: copy the address again (all-lowercase skips the check)")
    return checksummed
