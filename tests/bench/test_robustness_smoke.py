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


def test_one_round_one_cell_per_pipeline_writes_table_and_json(robustness, tmp_path, capsys):
    argv = ["--attacks", "sign_flip", "--splits", "iid", "--seeds", "0", "--rounds", "1",
            "--workers", "1", "--out", str(tmp_path), "--json"]

    assert robustness.main(argv) == 0

    report = json.loads(capsys.readouterr().out)
    cells = {(r["pipeline"], r["attack"]) for r in report["runs"]}
    assert cells == {(p, a) for p in ("old", "new") for a in ("clean", "sign_flip")}
    for run in report["runs"]:
        assert 0.0 <= run["malicious_share"] <= 1.0
        assert sum(int(w) for w in run["rewards_wei"]) <= 10**18
        assert run["accuracy_ratio"] == pytest.approx(run["accuracy"] / run["clean_accuracy"])
    assert "| sign_flip |" in (tmp_path / "robustness.md").read_text()
