"""A reduced `fedmarket demo` end to end: separate role processes, real chain and store."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedmarket.cli import app
from fedmarket.demo.windows import MeasuredWork, size_windows

runner = CliRunner()


# The demo itself gives up after its own --timeout of 400 s; the hang guard sits above that.
@pytest.mark.timeout(900)
def test_reduced_demo_pays_honest_trainers_and_balances_to_the_wei(
        demo_data_dir: Path) -> None:
    result = runner.invoke(app, ["demo", "--trainers", "5", "--malicious", "1", "--rounds", "2",
                                 "--budget", "2", "--timeout", "400", "--data-dir",
                                 str(demo_data_dir), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "finished"
    assert [r["verified"] for r in report["rounds"]] == [True, True]
    malicious = [t for t in report["trainers"] if t["behaviour"] != "honest"]
    assert len(malicious) == 1 and malicious[0]["reward_wei"] == "0"
    claimed = sum(int(t["claimed_wei"]) for t in report["trainers"])
    assert claimed == sum(int(t["reward_wei"]) for t in report["trainers"]) > 0
    # Every wei of the budget: to trainers, to the committee as its fee, or back to the owner.
    assert int(report["verifier_fees_wei"]) > 0
    assert claimed + int(report["verifier_fees_wei"]) + int(report["refund_wei"]) == int(
        report["budget_wei"])
    assert report["rounds"][-1]["accuracy"] > 0.5
    # Its windows were sized from the work it measured on this machine before posting.
    measured = MeasuredWork(**report["measured"])
    assert measured.train_seconds > 0 and measured.compute_seconds > 0
    assert report["windows"] == asdict(size_windows(measured, 5, 3, 60))
