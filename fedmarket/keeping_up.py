"""Roles that cannot keep up with a project's phase windows say so, with the numbers.

A round's phases are fixed when the project is posted. A trainer whose training outlasts the
commit window, an aggregator whose computation outlasts the result window, or a verifier whose
re-execution outlasts the verify window loses its part of the round: the contract refuses the
late transaction. Each then reports *why* in one sentence — how long the work took, how long
the window was and when it closed, and what would fix it — instead of a bare revert name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fedmarket.chain.market import Market

__all__ = ["Stopwatch", "chain_time", "utc", "cannot_keep_up"]

#: The ``project post`` option that sets each phase's window.
WINDOW_OPTIONS = {"commit": "--commit-seconds", "reveal": "--reveal-seconds",
                  "aggregate": "--aggregate-seconds", "verify": "--verify-seconds"}


def utc(timestamp: int) -> str:
    """A chain timestamp as a UTC time people read."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def chain_time(market: Market) -> int:
    """The latest block's timestamp: the clock every deadline is measured on."""
    block = market.contract.client.w3.eth.get_block("latest")
    return int(block["timestamp"])


@dataclass
class Stopwatch:
    """Wall time since it was made (time.monotonic: immune to clock changes)."""

    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        """Seconds elapsed so far."""
        return time.monotonic() - self.started


def cannot_keep_up(work: str, seconds: float, phase: str, window: int, closed_at: int) -> str:
    """The sentence a role reports when ``work`` took longer than ``phase``'s window allowed."""
    return (f"{work} took {seconds:.0f} s, but the {phase} window ({window} s) closed at "
            f"{utc(closed_at)}: this machine cannot keep up with the project's windows; it "
            f"needs a faster machine or a project posted with a longer "
            f"{WINDOW_OPTIONS[phase]}")
