"""The issue-13 flows the default sample does not reach, played on one fresh deployment.

Kept here, not in tests/contracts/scenario.py (rewritten elsewhere): the index tests need
only these few plays, through the sample market's own steps.

- project 1: a contested round (one agree, one disagree of three seats) is refunded;
- project 2: the committee disputes the result: the project aborts, the aggregator's bond
  opens compensation for the three revealed trainers; one claims, the rest is burned after
  the claim window;
- project 3: a trainer does not commit and its seat is released; the round finalizes, nobody
  claims, and after the claim window the distributor returns the rewards to the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from fedmarket.chain.client import ChainClient, dev_account
from fedmarket.chain.deploy import deploy_contracts
from fedmarket.chain.deployment import Deployment
from fedmarket.storage import LocalStore
from market_api.sample import (
    AGGREGATOR,
    FIRST_TRAINER,
    OWNER,
    VERIFIERS,
    SampleMarket,
    SampleProject,
)

__all__ = ["Flows", "play_flows", "CLAIM_WINDOW"]

CLAIM_WINDOW = 30 * 24 * 3600  # DeployParams.claim_window_seconds


@dataclass
class Flows:
    """What was played, for the assertions."""

    deployment: Deployment
    store: LocalStore
    market: SampleMarket
    contested: SampleProject
    disputed: SampleProject
    expired: SampleProject
    compensated: str  # the trainer of project 2 that claimed its share
    released: str  # the no-show of project 3
    compensation_expiry: int


def play_flows(w3: Web3, root: Path) -> Flows:
    """Deploy afresh and play the three projects (see the module doc)."""
    deployment = deploy_contracts(ChainClient(w3, dev_account(0)))
    store = LocalStore(root / "store")
    market = SampleMarket(w3, deployment, store)
    first, second, third = VERIFIERS

    contested = market.post(trainers=3, rounds=1)
    assert market.play_round(contested, 1, votes={third: False, first: True}) == "refunded"
    market.finish(contested)

    disputed = market.post(trainers=3, rounds=1)
    assert market.play_round(disputed, 1, votes={first: False, second: False}) == "disputed"
    compensated = disputed.trainers[0]
    market.actor(FIRST_TRAINER).market.claim_compensation(disputed.project, 1)
    _, _, expiry = market.actor(OWNER).market.compensation(disputed.project, 1)

    expired = market.post(trainers=3, rounds=1)
    released = expired.trainers[-1]
    assert market.play_round(expired, 1, no_show={released}) == "finalized"
    market.finish(expired)

    _travel(w3, CLAIM_WINDOW + 10)
    market.actor(AGGREGATOR).market.burn_expired_compensation(disputed.project, 1)
    market.actor(AGGREGATOR).rewards.reclaim_expired(expired.project, 1)
    return Flows(deployment, store, market, contested, disputed, expired, compensated,
                 released, expiry)


def _travel(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
