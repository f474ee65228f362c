"""Fixtures of the end-to-end tests that run `fedmarket demo` as a user would."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedmarket.cli import app


@pytest.fixture
def demo_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh data dir for one demo; its node is stopped afterwards whatever the outcome."""
    yield tmp_path / "data"
    CliRunner().invoke(app, ["chain", "down", "--data-dir", str(tmp_path / "data")])
