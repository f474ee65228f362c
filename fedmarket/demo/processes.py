"""The demo's child processes: start each role with its log, and stop every one on the way out.

Whatever ends the demo — success, a refused option, a crashed role, its own timeout, Ctrl-C or
SIGTERM — :class:`DemoProcesses` stops what it started: the role processes always, and the
local node when this demo run started it (a node that was already running is left alone).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from fedmarket.chain.node import LocalNode

__all__ = ["RoleProcess", "DemoProcesses", "interrupts_deferred", "sigterm_as_interrupt"]


@dataclass
class RoleProcess:
    """One role's process, where its output goes and the file it writes once it is ready."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_file: Path

    def failed(self) -> bool:
        """True once the process exited non-zero."""
        return self.process.poll() not in (None, 0)

    def log_tail(self, lines: int = 3) -> str:
        """The last lines of its log on one line (for an error message)."""
        text = self.log.read_text(errors="replace").strip() if self.log.is_file() else ""
        return " | ".join(text.splitlines()[-lines:])


@dataclass
class DemoProcesses:
    """Everything one demo run started; :meth:`stop` ends it all (idempotent)."""

    logs: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    roles: list[RoleProcess] = field(default_factory=list)
    node: LocalNode | None = None  # set only when this run started the node

    def spawn(self, name: str, args: list[str]) -> RoleProcess:
        """Start ``args`` with output to ``<logs>/<name>.log`` and ``--ready-file`` appended."""
        assert self.logs is not None, "logs folder not set"
        log = self.logs / f"{name}.log"
        ready = self.logs / f"{name}.ready"
        ready.unlink(missing_ok=True)
        with interrupts_deferred(), open(log, "wb") as out:
            # A Ctrl-C between Popen's fork and the append below would leave a child that
            # stop() never sees, so the interrupt waits until the role is on the list.
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [*args, "--ready-file", str(ready)], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env)
            role = RoleProcess(name, process, log, ready)
            self.roles.append(role)
        return role

    def stop_roles(self) -> None:
        """Terminate every role still running (kill any that ignores it for 10 s)."""
        for role in self.roles:
            if role.process.poll() is None:
                role.process.terminate()
        for role in self.roles:
            try:
                role.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                role.process.kill()
                role.process.wait()

    def stop(self, keep_node: bool = False) -> None:
        """Stop the roles, then the node this run started unless ``keep_node``."""
        self.stop_roles()
        if self.node is not None and not keep_node:
            self.node.stop()
            self.node = None


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise KeyboardInterrupt if one came.

    Python-level handlers (not a blocked signal mask) so that the children started inside
    inherit nothing: exec resets caught signals to their defaults.
    """
    pending: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    try:
        previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: no signal reaches this code anyway
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if pending:
        raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the demo runs, so ``kill`` also stops what it started."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals cannot be caught here at all
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
