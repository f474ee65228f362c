"""The index and the API follow the issue-13 flows: contested refunds, disputes that open
compensation from the slashed bond, released seats and expired claim windows.

The flows (:mod:`tests.api.flows`) are played once per module inside an ``evm_snapshot``
and indexed into a fresh database of each backend.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from fedmarket.chain.client import dev_account
from market_api.db import Index
from market_api.indexer import Indexer
from market_api.indexer.results import store_fetcher
from market_api.main import create_app
from market_api.sample import VERIFIERS
from tests.api.conftest import Databases
from tests.api.flows import CLAIM_WINDOW, Flows, play_flows

ETHER = 10**18
BUDGET = 3 * ETHER  # one round: the whole budget is its pool
FEE = BUDGET * 500 // 10_000
BOND = ETHER // 2
PENALTY = ETHER // 10 // 10  # a tenth of the minimum trainer stake


@pytest.fixture(scope="module")
def flows(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flows]:
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield play_flows(w3, tmp_path_factory.mktemp("flows"))
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(w3: Web3, flows: Flows, module_databases: Databases) -> Iterator[TestClient]:
    index = Index(module_databases.new())
    Indexer(w3, flows.deployment, index, store_fetcher(flows.store)).sync()
    app = create_app(index, chain_id=flows.deployment.chain_id,
                     chain_head=lambda: int(w3.eth.block_number))
    with TestClient(app) as test_client:
        yield test_client
    index.close()


def test_contested_round_is_refunded_never_paid(client: TestClient, flows: Flows) -> None:
    project = flows.contested.project
    body = client.get(f"/projects/{project}/rounds/1").json()

    assert body["status"] == "refunded" and body["refund_reason"] == "contested"
    assert (body["agrees"], body["disagrees"], body["contested"]) == (1, 1, True)
    assert body["verdict"] == "none" and body["winners"] == 0
    assert body["committee_size"] == 3 and body["fee"] == str(FEE)
    assert (body["fee_paid"], body["verifiers_paid"], body["verifiers_slashed"]) == (
        "0", "0", "0")
    assert body["total_rewarded"] == "0" and int(body["posted_total"]) > 0
    assert body["funded"] is False and body["claim_expires_at"] is None
    assert {a["outcome"] for a in body["attestations"]} == {"no_verdict"}
    assert body["slashes"] == []
    assert client.get(f"/projects/{project}").json()["total_rewarded"] == "0"


def test_refunded_round_rewards_are_lost(client: TestClient, flows: Flows) -> None:
    trainer = flows.contested.trainers[0]
    body = client.get(f"/trainers/{trainer}/rewards").json()

    contested = [r for r in body["rewards"] if r["project"] == flows.contested.project]
    assert [r["status"] for r in contested] == ["lost"]
    assert contested[0]["proof"] is None


def test_disputed_round_pays_the_committee_and_opens_compensation(client: TestClient,
                                                                 flows: Flows) -> None:
    project = flows.disputed.project
    body = client.get(f"/projects/{project}/rounds/1").json()

    assert body["status"] == "disputed" and body["verdict"] == "disagree"
    assert body["winners"] == 2 and body["fee_paid"] == str(FEE)
    assert body["total_rewarded"] == "0"
    compensation = body["compensation"]
    per = BOND // 3
    assert compensation["per_trainer"] == str(per) and compensation["total"] == str(BOND)
    assert compensation["claimed"] == str(per)
    assert compensation["burned"] == str(BOND - per)
    assert compensation["expires_at"] == flows.compensation_expiry
    by_address = {t["address"]: t["compensation"] for t in body["trainers"]}
    assert by_address.pop(flows.compensated) == str(per)
    assert set(by_address.values()) == {"0"}
    rewards = client.get(f"/trainers/{flows.compensated}/rewards").json()
    assert rewards["compensated"] == str(per)
    project_body = client.get(f"/projects/{project}").json()
    assert project_body["status"] == "aborted" and project_body["bond_slashed"] == str(BOND)


def test_disputing_verifiers_earn_the_fee(client: TestClient, flows: Flows) -> None:
    disputers = [client.get(f"/verifiers/{dev_account(i).address}").json()
                 for i in VERIFIERS[:2]]

    votes = [a for v in disputers for a in v["attestations"]
             if a["project"] == flows.disputed.project]
    assert [a["outcome"] for a in votes] == ["won", "won"]
    assert sum(int(a["reward"]) for a in votes) == FEE
    assert all(v["lost"] == 0 and v["slashed"] == "0" for v in disputers)


def test_released_seat_is_shown_with_its_penalty(client: TestClient, flows: Flows) -> None:
    body = client.get(f"/trainers/{flows.released}").json()

    entry = next(p for p in body["projects"] if p["project"] == flows.expired.project)
    assert entry["released_round"] == 1 and entry["left"] is True
    assert entry["rounds_submitted"] == 0
    assert body["stake"] == str(ETHER // 10 - PENALTY)
    project = client.get(f"/projects/{flows.expired.project}").json()
    assert project["trainers"] == 2


def test_expired_round_returns_unclaimed_rewards(client: TestClient, flows: Flows) -> None:
    project = flows.expired.project
    body = client.get(f"/projects/{project}/rounds/1").json()

    assert body["status"] == "finalized" and body["funded"] is True
    assert body["unclaimed_returned"] == body["total_rewarded"] != "0"
    assert body["claim_expires_at"] > CLAIM_WINDOW  # funding time + the window
    trainer = flows.expired.trainers[0]
    rewards = client.get(f"/trainers/{trainer}/rewards").json()
    leaves = [r for r in rewards["rewards"] if r["project"] == project]
    assert [r["status"] for r in leaves] == ["expired"]
    assert leaves[0]["proof"] is None and leaves[0]["claim_expires_at"] == body[
        "claim_expires_at"]
    # The trainer's page agrees: an expired leaf went back to the owner and is not earned.
    trainer_page = client.get(f"/trainers/{trainer}").json()
    entry = next(p for p in trainer_page["projects"] if p["project"] == project)
    assert entry["earned"] == "0"
