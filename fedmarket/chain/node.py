"""Run a local anvil node whose state survives restarts.

anvil comes from npm (``@foundry-rs/anvil``, a native binary inside the package, nothing
downloaded). It listens on 127.0.0.1 only, on a free port unless one is asked for, and writes
its state to ``<chain_dir>/state.json`` every second (``--state --state-interval 1``), which
survives even a hard kill; ``--dump-state`` alone would only write on a clean stop. Its output
goes to a log file: with an unread pipe anvil hangs after a few hundred transactions.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from fedmarket.chain.compile import project_root
from fedmarket.errors import ChainError

__all__ = ["LocalNode", "NodeInfo", "anvil_binary", "free_port", "DEV_MNEMONIC", "DEV_ACCOUNTS"]

# anvil's well-known development mnemonic: its keys are public, for local chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
# Enough dev accounts for an owner, an aggregator, several verifiers and many trainers.
DEV_ACCOUNTS = 40
DEV_BALANCE_ETHER = 10_000
CHAIN_ID = 31337


def anvil_binary() -> Path:
    """Path of the anvil executable installed by ``npm ci``."""
    base = project_root() / "node_modules" / "@foundry-rs"
    for candidate in sorted(base.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    raise ChainError("anvil is not installed: run `make setup` (npm ci installs @foundry-rs/anvil)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class NodeInfo:
    """What ``chain up`` records about a running node (``<chain_dir>/node.json``)."""

    pid: int
    port: int
    url: str
    chain_id: int
    state_file: str
    log_file: str


def _rpc(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    response = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
        timeout=timeout,
    )
    response.raise_for_status()
    body = response.json()
    if "error" in body:
        raise ChainError(f"{method} failed: {body['error']}")
    return body["result"]


class LocalNode:
    """An anvil process bound to one chain folder.

    ``start()`` loads the previous state if there is one; ``stop()`` terminates the process
    (state is already on disk). ``detach=True`` starts it in its own session so it outlives
    the ``fedmarket chain up`` command that launched it.
    """

    def __init__(self, chain_dir: Path, port: int | None = None, detach: bool = False):
        self.chain_dir = Path(chain_dir)
        self.requested_port = port
        self.detach = detach
        self.process: subprocess.Popen[bytes] | None = None
        self.info: NodeInfo | None = None

    @property
    def info_file(self) -> Path:
        """Where the running node's pid, port and URL are recorded."""
        return self.chain_dir / "node.json"

    @property
    def state_file(self) -> Path:
        """Anvil's state file, rewritten every second."""
        return self.chain_dir / "state.json"

    @property
    def url(self) -> str:
        """JSON-RPC URL of the running node."""
        if self.info is None:
            raise ChainError("node is not running")
        return self.info.url

    def start(self, timeout: float = 20.0) -> NodeInfo:
        """Start anvil and wait until it answers JSON-RPC."""
        running = self.running_info()
        if running is not None:
            raise ChainError(f"a node is already running for {self.chain_dir} at {running.url} "
                             f"(pid {running.pid}); stop it with `fedmarket chain down`")
        self.chain_dir.mkdir(parents=True, exist_ok=True)
        port = self.requested_port or free_port()
        if not _port_free(port):
            raise ChainError(f"port {port} on 127.0.0.1 is already in use; "
                             "pick another with --port")
        log_file = self.chain_dir / "anvil.log"
        args = [
            str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port),
            "--chain-id", str(CHAIN_ID), "--accounts", str(DEV_ACCOUNTS),
            "--balance", str(DEV_BALANCE_ETHER), "--mnemonic", DEV_MNEMONIC,
            "--state", str(self.state_file), "--state-interval", "1",
        ]
        with open(log_file, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=self.detach,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                tail = log_file.read_text(errors="replace")[-800:]
                raise ChainError(f"anvil exited with status {self.process.returncode}: {tail}")
            try:
                chain_id = int(str(_rpc(url, "eth_chainId", timeout=0.5)), 16)
                break
            except (httpx.HTTPError, ChainError):
                if time.monotonic() > deadline:
                    self.process.kill()
                    raise ChainError(
                        f"anvil did not answer on {url} within {timeout:.0f} s") from None
                time.sleep(0.05)
        self.info = NodeInfo(self.process.pid, port, url, chain_id, str(self.state_file),
                             str(log_file))
        self.info_file.write_text(json.dumps(asdict(self.info), indent=1))
        return self.info

    def running_info(self) -> NodeInfo | None:
        """The recorded node if it is alive and answers, else None (stale records removed)."""
        if not self.info_file.is_file():
            return None
        try:
            info = NodeInfo(**json.loads(self.info_file.read_text()))
        except (ValueError, TypeError):
            self.info_file.unlink()
            return None
        if not _pid_alive(info.pid):
            self.info_file.unlink()
            return None
        try:
            _rpc(info.url, "eth_chainId", timeout=1.0)
        except (httpx.HTTPError, ChainError):
            return None
        return info

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the node (ours or the one recorded in the chain folder). True if one was stopped."""
        pid: int | None = None
        if self.process is not None and self.process.poll() is None:
            pid = self.process.pid
        elif self.info_file.is_file():
            try:
                pid = int(json.loads(self.info_file.read_text())["pid"])
            except (ValueError, KeyError, TypeError):
                pid = None
        stopped = False
        if pid is not None and _pid_alive(pid):
            # Let anvil write its final state: the interval writer may be up to 1 s behind.
            time.sleep(1.1)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                if self.process is not None and self.process.pid == pid:
                    self.process.poll()
                time.sleep(0.05)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            stopped = True
        if self.process is not None:
            self.process.wait(timeout=timeout)
        if self.info_file.is_file():
            self.info_file.unlink()
        self.info = None
        return stopped


def _port_free(port: int) -> bool:
    """Whether a listener could bind ``port`` now.

    SO_REUSEADDR matches what anvil's own listener does: without it the probe fails for
    ~60-80 s after ``chain down`` while the old node's accepted sockets sit in TIME_WAIT,
    although anvil itself would bind fine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is dead for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
