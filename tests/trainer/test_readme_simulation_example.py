"""The README's ten-line attack on the simulation API runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text()
    marker = text.index("<!-- simulation-example -->")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.DOTALL)
    assert block is not None, "the README lost its simulation example"
    return block.group(1)


def test_the_readme_attack_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = _example()
    assert len(code.strip().splitlines()) <= 12  # "one in ten lines" (imports aside)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    match = re.fullmatch(r"test accuracy (0\.\d{3}), attacker's share (\d+\.\d)%\n", printed)
    assert match is not None, printed
    # The inflated claim buys nothing: one honest party's share of ten is about 10 %.
    assert float(match.group(2)) < 20.0
