import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "robustness.py"


@pytest.fixture
def robustness():
    spec = importlib.util.spec_from_file_location("bench_robustness", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    yield module
    torch.set_num_threads(threads)  # the bench pins one thread; leave the session as it was
    del sys.modules[spec.name]


def test_one_round_two_cells_writes_table_and_json(robustness, tmp_path, capsys):
    argv = ["--rules", "fedavg", "--attacks", "sign_flip", "--fractions", "30", "--rounds", "1",
            "--workers", "1", "--out", str(tmp_path), "--json"]

    assert robustness.main(argv) == 0

    report = json.loads(capsys.readouterr().out)
    (run,) = report["runs"]
    assert (run["rule"], run["attack"], run["malicious"]) == ("fedavg", "sign_flip", 3)
    assert 0.0 <= run["malicious_share"] <= 1.0
    assert sum(int(w) for w in run["rewards_wei"]) <= 10**18
    assert "| fedavg | defaults | sign_flip |" in (tmp_path / "robustness.md").read_text()
