"""Readiness files: a long-running role says "connected, about to work" to whoever started it.

A role's start is mostly imports (torch, web3): 6 s on an idle 2-core machine, 19 s under
load. A supervisor that opens the project only once every role wrote its ready file (the
demo does) loses no phase window to a role that is still starting.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

__all__ = ["announce_ready"]


def announce_ready(path: Path | None) -> None:
    """Write ``path`` (pid and time) atomically, so a reader never sees half a file."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"pid": os.getpid(), "time": time.time()}))
    partial.replace(path)
