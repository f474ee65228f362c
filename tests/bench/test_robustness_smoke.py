import json

import pytest


@pytest.fixture
def robustness(load_bench):
    return load_bench("robustness")


def test_reduced_grid_covers_fractions_pipelines_and_fairness(robustness, tmp_path, capsys):
    argv = ["--attacks", "sign_flip", "backdoor", "--splits", "iid", "--seeds", "0",
            "--fractions", "10", "30", "--old-fractions", "30", "--fairness-seeds", "0",
            "--rounds", "1", "--workers", "1", "--out", str(tmp_path), "--json"]

    assert robustness.main(argv) == 0

    report = json.loads(capsys.readouterr().out)
    cells = {(r["pipeline"], r["attack"], r["fraction"]) for r in report["runs"]}
    assert cells == ({("new", "clean", 0), ("old", "clean", 0)}
                     | {("new", a, f) for a in ("sign_flip", "backdoor") for f in (10, 30)}
                     | {("old", a, 30) for a in ("sign_flip", "backdoor")})
    for run in report["runs"]:
        assert len(run["attackers"]) == run["fraction"] // 10
        assert 0.0 <= run["malicious_share"] <= 1.0
        assert sum(int(w) for w in run["rewards_wei"]) <= 10**18
        assert run["accuracy_gap"] == pytest.approx(run["clean_accuracy"] - run["accuracy"])
    assert {(f["pipeline"], f["seed"]) for f in report["fairness"]} == {("new", 0), ("old", 0)}
    for fair in report["fairness"]:
        assert sum(fair["reward_share"]) == pytest.approx(1.0)
        assert -1.0 <= fair["rho_clean_labels"] <= 1.0 and -1.0 <= fair["rho_standalone"] <= 1.0
        assert len(fair["standalone_accuracy"]) == 9
    table = (tmp_path / "robustness.md").read_text()
    assert "| backdoor |" in table and "rho vs standalone" in table
