"""Contract-test fixtures: one deployment per session, a reverted chain per test."""

from __future__ import annotations

import pytest
from web3 import Web3

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.deployment import Deployment
from tests.contracts.scenario import Scenario


@pytest.fixture(scope="session")
def deployment(w3: Web3) -> Deployment:
    """The contracts, deployed once before any test snapshots the chain."""
    return deploy_contracts(ChainClient(w3, dev_account(0)))


@pytest.fixture
def sc(deployment: Deployment, chain: Web3) -> Scenario:
    """Actors and helpers on a chain reverted after the test."""
    return Scenario(chain, deployment)
