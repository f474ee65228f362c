"""`fedmarket demo --example text` with separate role processes reading JSON Lines files.

The one subprocess run for the examples (the in-process tests in test_examples.py cover each
example's round): it proves trainer processes load text through the project's spec (the
tokenizer and length come from it) and the market pays and balances. Text is the example with
the most moving parts (tokenizer, token checks, transformer) and the slowest to train.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedmarket.cli import app

runner = CliRunner()


@pytest.mark.timeout(600)
def test_text_example_demo_runs_through_the_market(demo_data_dir: Path) -> None:
    result = runner.invoke(app, ["demo", "--example", "text", "--trainers", "3", "--malicious",
                                 "0", "--rounds", "1", "--budget", "1", "--timeout", "300",
                                 "--data-dir", str(demo_data_dir), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "finished" and report["example"] == "text"
    assert report["task"]["model"] == "transformer" and report["task"]["input_kind"] == "tokens"
    assert [r["verified"] for r in report["rounds"]] == [True]
    claimed = sum(int(t["claimed_wei"]) for t in report["trainers"])
    assert claimed > 0
    assert claimed + int(report["verifier_fees_wei"]) + int(report["refund_wei"]) == int(
        report["budget_wei"])
    # Each trainer read its shard from a .jsonl file the demo wrote.
    assert len(list(demo_data_dir.glob("demo/example-text-*/trainer-*.jsonl"))) == 3
