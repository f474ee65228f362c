"""`fedmarket demo` refuses bad options before starting anything, honours FEDMARKET_DATA_DIR,
and leaves no process behind when it fails or is interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fedmarket.chain.node import LocalNode
from fedmarket.cli import app
from tests.cli.conftest import refused, runner


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that name ``text`` (a test's private folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cwd with FEDMARKET_DATA_DIR pointing into it; nothing may outlive the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEDMARKET_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path
    LocalNode(tmp_path / "data" / "chain").stop()
    LocalNode(tmp_path / ".fedmarket" / "chain").stop()


@pytest.mark.parametrize("option", [
    ["--budget", "-5"], ["--budget", "0"], ["--budget", "1e400"], ["--budget", "lots"],
    ["--trainers", "0"], ["--malicious", "9"], ["--rounds", "0"], ["--attack", "nope"],
    ["--model", "rnn"], ["--scoring", "bogus"], ["--alpha", "0"], ["--alpha", "nan"],
    ["--timeout", "-1"], ["--port", "70000"], ["--rule", "nope"],
    ["--f", "5", "--rule", "multi_krum"], ["--f", "-1", "--rule", "multi_krum"],
    ["--example", "audio"], ["--example", "text", "--model", "cnn"],
])
def test_demo_refuses_a_bad_option_before_any_node_starts(workdir: Path,
                                                          option: list[str]) -> None:
    line = refused("demo", *option)

    assert option[0] in line or "budget" in line or "attack" in line or "--model" in line
    assert not (workdir / "data" / "chain").exists()
    assert not (workdir / ".fedmarket").exists()
    assert _processes_mentioning(str(workdir)) == []


@pytest.mark.timeout(300)
def test_demo_that_fails_stops_its_node_and_roles_in_FEDMARKET_DATA_DIR(workdir: Path) -> None:
    # Three honest trainers cannot all start within 1 s: the demo gives up after posting.
    result = runner.invoke(app, ["demo", "--trainers", "3", "--malicious", "0", "--rounds", "1",
                                 "--timeout", "1"])

    assert result.exit_code == 1, result.output
    assert "in time" in result.output or "within 1 s" in result.output
    assert (workdir / "data" / "chain" / "anvil.log").is_file()  # the node ran there...
    assert not (workdir / ".fedmarket").exists()  # ...not in the hard-coded default
    assert list((workdir / "data" / "demo").glob("project-*/logs/verifier-3.log"))
    assert LocalNode(workdir / "data" / "chain").running_info() is None
    assert _processes_mentioning(str(workdir)) == []


@pytest.mark.timeout(300)
def test_demo_interrupted_with_ctrl_c_stops_every_process_it_started(workdir: Path) -> None:
    demo = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "fedmarket", "demo", "--trainers", "3", "--malicious", "0",
         "--rounds", "1", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        # A suite started in the background (``cmd &``) has SIGINT ignored, and a child would
        # inherit that: the demo must see Ctrl-C as a terminal's user sends it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    logs = workdir / "data" / "demo" / "project-1" / "logs"
    deadline = time.monotonic() + 240
    while not (logs / "verifier-3.log").is_file() and demo.poll() is None:
        assert time.monotonic() < deadline, "the demo never started its roles"
        time.sleep(0.2)

    demo.send_signal(signal.SIGINT)  # to the demo alone: its children must be stopped by it
    _, err = demo.communicate(timeout=120)

    assert demo.returncode == 130, err.decode()
    assert b"interrupted" in err
    assert LocalNode(workdir / "data" / "chain").running_info() is None
    assert _processes_mentioning(str(workdir)) == []
