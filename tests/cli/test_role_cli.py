"""The owner's and participants' commands against a node started by `chain up`."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedmarket.cli import app
from tests.cli.conftest import register_verifier_pool

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(tmp_path_factory.mktemp("cli") / "data")
    assert runner.invoke(app, ["chain", "up", "--data-dir", path]).exit_code == 0
    register_verifier_pool(path)
    yield path
    runner.invoke(app, ["chain", "down", "--data-dir", path])


def ok(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    return " ".join(result.output.split())


def test_post_show_join_and_list(data_dir: str) -> None:
    posted = ok("project", "post", "--budget", "3", "--rounds", "2", "--min-trainers", "3",
                "--rule", "multi_krum", "--rule-params", '{"f": 0}', "--data-dir", data_dir)
    project = str(posted["project"])
    assert posted["budget_wei"] == str(3 * 10**18)

    ok("trainer", "register", "--stake", "0.1", "--account", "6", "--data-dir", data_dir)
    joined = ok("trainer", "join", project, "--account", "6", "--data-dir", data_dir)
    shown = ok("project", "show", project, "--data-dir", data_dir)
    listed = ok("project", "list", "--data-dir", data_dir)

    assert joined["joined"] is True and joined["first_round"] == 1
    assert shown["trainers"] == 1 and shown["status"] == "created"
    assert (shown["committee_size"], shown["verifier_quorum"], shown["verifier_fee_bps"]) == (
        3, 2, 500)
    assert int(project) in [p["project"] for p in listed["projects"]]


def test_budget_beyond_the_balance_is_refused_before_any_transaction(data_dir: str) -> None:
    message = fails("project", "post", "--budget", "99999999", "--min-trainers", "7",
                    "--data-dir", data_dir)

    assert "exceeds the account's balance" in message


def test_stake_below_the_minimum_is_refused(data_dir: str) -> None:
    message = fails("trainer", "register", "--stake", "0.01", "--account", "7",
                    "--data-dir", data_dir)

    assert "below the minimum" in message


def test_rule_that_needs_more_trainers_than_the_minimum_is_refused(data_dir: str) -> None:
    message = fails("project", "post", "--budget", "1", "--min-trainers", "3",
                    "--rule", "multi_krum", "--rule-params", '{"f": 2}', "--data-dir", data_dir)

    assert "needs at least 7" in message


def test_malformed_amount_and_address_name_the_problem(data_dir: str) -> None:
    assert "not a number of ether" in fails("project", "post", "--budget", "ten",
                                            "--data-dir", data_dir)
    assert "not an Ethereum address" in fails("rewards", "0x1234", "--data-dir", data_dir)


def test_unknown_project_is_reported(data_dir: str) -> None:
    assert "does not exist" in fails("project", "show", "999", "--data-dir", data_dir)


def test_joining_an_unknown_project_says_so_in_a_sentence(data_dir: str) -> None:
    ok("trainer", "register", "--account", "8", "--data-dir", data_dir)

    message = fails("trainer", "join", "999", "--account", "8", "--data-dir", data_dir)

    assert message == "error: project 999 does not exist [FedMarketUnknownProject]"


def test_commands_without_a_node_explain_how_to_start_one(tmp_path: Path) -> None:
    message = fails("project", "list", "--data-dir", str(tmp_path / "nothing"))

    assert "fedmarket chain up" in message


def test_rewards_of_a_fresh_address_are_zero(data_dir: str) -> None:
    summary = ok("rewards", "0x000000000000000000000000000000000000dEaD", "--data-dir", data_dir)

    assert summary["earned_wei"] == "0" and summary["rounds"] == []


def test_claim_with_nothing_to_claim_pays_nothing(data_dir: str) -> None:
    assert ok("claim", "--account", "9", "--data-dir", data_dir)["paid_wei"] == "0"
