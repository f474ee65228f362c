"""`fedmarket chain up | status | down` on a real node in a temporary data dir."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedmarket.chain.client import connect, dev_account
from fedmarket.cli import app

runner = CliRunner()


def invoke(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"
    runner.invoke(app, ["chain", "down", "--data-dir", str(tmp_path / "data")])


def test_chain_up_deploys_and_restart_keeps_addresses_and_balances(data_dir: Path) -> None:
    first = invoke("chain", "up", "--data-dir", str(data_dir))
    assert first["freshly_deployed"] and first["chain_id"] == 31337
    assert set(first["contracts"]) >= {"FedMarket", "ParticipantRegistry", "RewardDistributor"}
    w3 = connect(first["url"])
    w3.eth.send_transaction({"from": dev_account(0).address, "to": dev_account(9).address,
                             "value": 777})
    balance = w3.eth.get_balance(dev_account(9).address)

    assert invoke("chain", "down", "--data-dir", str(data_dir))["stopped"] is True
    second = invoke("chain", "up", "--data-dir", str(data_dir))

    assert not second["freshly_deployed"]
    assert second["contracts"] == first["contracts"]
    assert connect(second["url"]).eth.get_balance(dev_account(9).address) == balance


def test_chain_status_reports_a_stopped_node_with_exit_code_3(data_dir: Path) -> None:
    result = runner.invoke(app, ["chain", "status", "--data-dir", str(data_dir), "--json"])

    assert result.exit_code == 3
    assert json.loads(result.stdout)["running"] is False


def test_chain_status_lists_addresses_of_a_running_node(data_dir: Path) -> None:
    up = invoke("chain", "up", "--data-dir", str(data_dir))

    status = invoke("chain", "status", "--data-dir", str(data_dir))

    assert status["running"] and status["contracts"] == up["contracts"]


def test_chain_deploy_targets_any_rpc_url_and_records_addresses(anvil_node, tmp_path: Path) -> None:
    data_dir = str(tmp_path / "remote")

    first = invoke("chain", "deploy", "--rpc-url", anvil_node.url, "--account", "0",
                   "--data-dir", data_dir)
    again = invoke("chain", "deploy", "--rpc-url", anvil_node.url, "--account", "0",
                   "--data-dir", data_dir)

    assert first["freshly_deployed"] and not again["freshly_deployed"]
    assert again["contracts"] == first["contracts"]
    assert (tmp_path / "remote" / "chain" / "deployment.json").is_file()
