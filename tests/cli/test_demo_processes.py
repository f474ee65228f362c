"""The demo never loses track of a child it started, whenever Ctrl-C arrives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fedmarket.demo import processes as demo_processes
from fedmarket.demo.processes import DemoProcesses, interrupts_deferred


@pytest.fixture(autouse=True)
def sigint_raises():
    # A suite started in the background (``cmd &``) inherits SIGINT ignored; these tests are
    # about what Ctrl-C does, so give SIGINT Python's own handler while they run.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_an_interrupt_inside_the_block_is_raised_only_after_it() -> None:
    reached_end = False
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_a_role_starts_still_lets_stop_end_that_role(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_popen = subprocess.Popen

    def popen_then_interrupt(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)  # type: ignore[call-overload]
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands right after the fork
        return child  # type: ignore[no-any-return]

    monkeypatch.setattr(demo_processes.subprocess, "Popen", popen_then_interrupt)
    processes = DemoProcesses(logs=tmp_path, env=dict(os.environ))
    with pytest.raises(KeyboardInterrupt):
        processes.spawn("sleeper", [sys.executable, "-c",
                                    "import time, sys; time.sleep(600)"])
    assert [role.name for role in processes.roles] == ["sleeper"]
    child = processes.roles[0].process
    processes.stop()
    assert child.poll() is not None, "the child outlived stop()"
