"""Load a bench script as a module, and leave the session's torch threads as they were."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def load_bench() -> Iterator[Callable[[str], ModuleType]]:
    """``load_bench("robustness")`` imports ``bench/robustness.py`` for one test."""
    loaded: list[str] = []
    threads = torch.get_num_threads()

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while it loads
        loaded.append(spec.name)
        spec.loader.exec_module(module)
        return module

    yield load
    torch.set_num_threads(threads)  # the benches pin one thread
    for name in loaded:
        del sys.modules[name]
