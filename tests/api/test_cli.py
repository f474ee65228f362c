from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner
from web3 import Web3

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.cli.api import app


def test_index_command_reports_one_pass_as_json(chain: Web3, tmp_path: Path) -> None:
    deployment = deploy_contracts(ChainClient(chain, dev_account(0)))
    deployment.save(tmp_path / "chain" / "deployment.json")
    url = chain.provider.endpoint_uri  # type: ignore[attr-defined]
    args = ["index", "--data-dir", str(tmp_path), "--rpc-url", url, "--json"]

    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)

    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["to_block"] == report["chain_head"] == chain.eth.block_number
    assert report["logs"] > 0 and report["reset"] is False
    assert json.loads(second.stdout)["logs"] == 0
    assert (tmp_path / "index.sqlite").is_file()


def test_index_command_without_deployment_fails_in_one_line(chain: Web3,
                                                            tmp_path: Path) -> None:
    url = chain.provider.endpoint_uri  # type: ignore[attr-defined]

    result = CliRunner().invoke(app, ["index", "--data-dir", str(tmp_path), "--rpc-url", url])

    assert result.exit_code == 1
    assert "no deployment at" in result.output
