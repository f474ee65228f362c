from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from fedmarket.chain.client import dev_account
from fedmarket.merkle import verify
from market_api.api.deps import ADDRESS_DETAIL, CHECKSUM_DETAIL
from market_api.sample import FIRST_TRAINER, VERIFIERS
from tests.api.conftest import Published

UNKNOWN = "0x" + "ab" * 20
ETHER = 10**18
POOL = 3 * ETHER // 2  # each of the sample's two rounds
FEE = POOL * 500 // 10_000  # the verifier fee of a round (5 %)
SLASH = ETHER // 4  # half the minimum verifier stake, taken from a losing vote


def test_health_reports_index_at_chain_head(api: TestClient, published: Published) -> None:
    body = api.get("/health").json()

    assert body["status"] == "ok"
    assert body["chain_head"] == published.w3.eth.block_number
    assert body["indexed_block"] == body["chain_head"] and body["lag"] == 0
    assert body["chain_id"] == 31337 and body["confirmations"] == 0


def test_projects_lists_the_finished_project(api: TestClient, published: Published) -> None:
    body = api.get("/projects").json()

    assert body["count"] == 1
    project = body["data"][0]
    assert project["id"] == published.sample.project
    assert project["status"] == "finished"
    assert project["budget"] == str(3 * 10**18)
    assert project["trainers"] == 3 and "verifiers" not in project
    assert project["verifier_quorum"] == 2 and project["committee_size"] == 3
    assert project["verifier_fee_bps"] == 500
    expected = sum(published.sample.rewards.values())
    assert project["total_rewarded"] == str(expected)
    assert project["task"] == {"model": "mlp", "input_kind": "features", "input_shape": [64],
                               "num_classes": 10, "num_params": 64 * 32 + 32 + 32 * 10 + 10,
                               "lora_rank": None, "base_params": None}


def test_projects_pagination_is_bounded(api: TestClient) -> None:
    assert api.get("/projects?offset=1&limit=1").json() == {"data": [], "count": 1}
    assert api.get("/projects?limit=0").status_code == 422
    assert api.get("/projects?limit=201").status_code == 422
    assert api.get("/projects?offset=-1").status_code == 422


def test_unknown_project_and_round_are_404(api: TestClient) -> None:
    assert api.get("/projects/99").json() == {"detail": "Project not found"}
    assert api.get("/projects/99/rounds").status_code == 404
    response = api.get("/projects/1/rounds/9")
    assert response.status_code == 404
    assert response.json() == {"detail": "Round not found"}
    assert api.get("/projects/99/rounds/1").json() == {"detail": "Project not found"}


def test_rounds_carry_accuracy_and_verification(api: TestClient) -> None:
    body = api.get("/projects/1/rounds").json()

    assert body["count"] == 2
    first, second = body["data"]
    assert [first["round"], second["round"]] == [1, 2]
    assert first["accuracy"] == pytest.approx(0.75) and second["accuracy"] == pytest.approx(0.9)
    assert first["status"] == "finalized" and first["funded"] is True
    assert (first["accepted"], first["rejected"]) == (2, 1)
    assert (first["agrees"], first["disagrees"]) == (2, 1)
    assert first["result_status"] == "fetched" and first["result_error"] is None
    assert first["proof_verified"] is False


def test_rounds_show_committee_verdict_fee_and_slashes(api: TestClient) -> None:
    first, second = api.get("/projects/1/rounds").json()["data"]

    # Round 1: one dissenter outvoted 2:1, slashed; the winners share fee + slashed stake.
    assert (first["committee_size"], first["verifier_pool"]) == (3, 3)
    assert first["verdict"] == "agree" and first["contested"] is True
    assert first["winners"] == 2 and first["fee"] == str(FEE)
    assert first["fee_paid"] == str(FEE) and first["verifiers_slashed"] == str(SLASH)
    assert first["verifiers_paid"] == str(FEE + SLASH)
    assert first["refund_reason"] is None and first["compensation"] is None
    # Round 2: two agree, the slashed verifier (below the minimum stake) sits out.
    assert (second["agrees"], second["disagrees"], second["contested"]) == (2, 0, False)
    assert second["verifiers_slashed"] == "0" and second["verifiers_paid"] == str(FEE)
    for r in (first, second):
        assert r["posted_total"] == r["total_rewarded"] != "0"
        assert r["claim_expires_at"] is not None and r["unclaimed_returned"] is None


def test_round_detail_lists_trainers_and_attestations(api: TestClient,
                                                       published: Published) -> None:
    body = api.get("/projects/1/rounds/1").json()

    sample = published.sample
    assert body["result_cid"] == sample.result_cids[1]
    assert [t["address"] for t in body["trainers"]] == sorted(sample.trainers, key=str.lower)
    by_address = {t["address"]: t for t in body["trainers"]}
    rejected = by_address[sample.rejected]
    assert rejected["accepted"] is False and rejected["reason"].startswith("norm_outlier")
    assert rejected["reward"] == "0"
    for address in sample.trainers:
        entry = by_address[address]
        assert entry["committed"] and entry["revealed"]
        assert entry["update_cid"].startswith("Qm")
        assert entry["reward"] == str(sample.rewards[(1, address)])
        # The claimer settled its leaves; the aggregator settled the rejected zero leaf.
        assert entry["claimed"] is (address in (sample.claimed_by, sample.rejected))
        assert entry["robustness"]["norm"] == 1.5
    assert sorted(a["verifier"] for a in body["attestations"]) == sorted(
        str(dev_account(i).address) for i in VERIFIERS)
    votes = {a["verifier"]: a for a in body["attestations"]}
    dissenter = votes[str(dev_account(VERIFIERS[-1]).address)]
    assert dissenter["agree"] is False and dissenter["outcome"] == "lost"
    assert dissenter["slashed"] == str(SLASH) and dissenter["reward"] == "0"
    winners = [votes[str(dev_account(i).address)] for i in VERIFIERS[:-1]]
    assert all(w["outcome"] == "won" and w["slashed"] == "0" for w in winners)
    assert sum(int(w["reward"]) for w in winners) == FEE + SLASH
    assert [s["verifier"] for s in body["slashes"]] == [dissenter["verifier"]]
    assert all(t["compensation"] == "0" for t in body["trainers"])


def test_trainer_shows_stake_reputation_and_projects(api: TestClient,
                                                      published: Published) -> None:
    claimer = published.sample.claimed_by
    body = api.get(f"/trainers/{claimer.lower()}").json()

    assert body["address"] == claimer
    assert body["stake"] == str(10**17) and body["registered"] is True
    assert body["reputation"] == {"accepted": 2, "rejected": 0, "score": 2}
    assert body["projects"][0]["project"] == 1
    assert body["projects"][0]["rounds_submitted"] == 2
    earned = sum(published.sample.rewards[(r, claimer)] for r in (1, 2))
    assert body["projects"][0]["earned"] == str(earned)


def test_rewards_of_a_claimer_are_all_claimed(api: TestClient, published: Published) -> None:
    claimer = published.sample.claimed_by
    body = api.get(f"/trainers/{claimer}/rewards").json()

    earned = sum(published.sample.rewards[(r, claimer)] for r in (1, 2))
    assert (body["earned"], body["claimed"], body["claimable"]) == (str(earned), str(earned), "0")
    assert [r["status"] for r in body["rewards"]] == ["claimed", "claimed"]


def test_rewards_proofs_verify_against_the_posted_root(api: TestClient,
                                                        published: Published) -> None:
    trainer = published.sample.trainers[1]
    body = api.get(f"/trainers/{trainer}/rewards").json()

    assert body["claimed"] == "0" and body["claimable"] == body["earned"] != "0"
    for reward in body["rewards"]:
        assert reward["status"] == "claimable"
        leaf = (reward["project"], reward["round"], trainer, int(reward["amount"]))
        assert verify(reward["rewards_root"], leaf, reward["proof"])


def test_rewards_proof_is_accepted_by_the_distributor(api: TestClient, published: Published,
                                                       chain: Web3) -> None:
    trainer = published.sample.trainers[1]
    reward = api.get(f"/trainers/{trainer}/rewards").json()["rewards"][0]
    rewards = published.market.actor(FIRST_TRAINER + 1).rewards

    rewards.claim(reward["project"], reward["round"], int(reward["amount"]),
                  [bytes.fromhex(p[2:]) for p in reward["proof"]])

    assert rewards.is_claimed(reward["project"], reward["round"], trainer)


def test_rejected_trainer_reputation_counts_rejections(api: TestClient,
                                                      published: Published) -> None:
    body = api.get(f"/trainers/{published.sample.rejected}").json()

    assert body["reputation"] == {"accepted": 0, "rejected": 2, "score": -2}
    assert body["projects"][0]["rounds_accepted"] == 0


def test_rejected_trainer_has_nothing_to_claim(api: TestClient, published: Published) -> None:
    body = api.get(f"/trainers/{published.sample.rejected}/rewards").json()

    assert body == {"address": published.sample.rejected, "earned": "0", "claimed": "0",
                    "claimable": "0", "pending": "0", "compensated": "0",
                    "rewards": []}


def test_verifier_shows_votes_and_fees(api: TestClient) -> None:
    verifier = str(dev_account(VERIFIERS[0]).address)
    body = api.get(f"/verifiers/{verifier}").json()

    assert body["stake"] == str(5 * 10**17) and body["bindings"] == 0
    assert (body["agreed"], body["disagreed"]) == (2, 0)
    assert (body["won"], body["lost"], body["slashed"], body["slashes"]) == (2, 0, "0", [])
    assert [(a["project"], a["round"]) for a in body["attestations"]] == [(1, 1), (1, 2)]
    # Equal shares; the first winner in vote order takes the rounding remainder.
    shares = [int(a["reward"]) for a in body["attestations"]]
    assert shares[0] in ((FEE + SLASH) // 2, FEE + SLASH - (FEE + SLASH) // 2)
    assert shares[1] in (FEE // 2, FEE - FEE // 2)
    assert body["rewarded"] == str(sum(shares))


def test_outvoted_verifier_is_slashed(api: TestClient) -> None:
    verifier = str(dev_account(VERIFIERS[-1]).address)
    body = api.get(f"/verifiers/{verifier}").json()

    assert body["stake"] == str(5 * 10**17 - SLASH) and body["registered"] is True
    assert (body["won"], body["lost"], body["rewarded"]) == (0, 1, "0")
    assert body["slashed"] == str(SLASH)
    assert [(s["project"], s["round"], s["amount"]) for s in body["slashes"]] == [
        (1, 1, str(SLASH))]
    assert [a["outcome"] for a in body["attestations"]] == ["lost"]


def test_verifier_votes_come_a_page_at_a_time(api: TestClient) -> None:
    # A verifier votes once per round of every project it verifies: the response must not
    # grow with the index.
    verifier = str(dev_account(VERIFIERS[0]).address)

    first = api.get(f"/verifiers/{verifier}?limit=1").json()
    second = api.get(f"/verifiers/{verifier}?offset=1&limit=1").json()

    assert [(a["project"], a["round"]) for a in first["attestations"]] == [(1, 1)]
    assert [(a["project"], a["round"]) for a in second["attestations"]] == [(1, 2)]
    assert first["attestation_count"] == second["attestation_count"] == 2
    assert (first["agreed"], first["disagreed"]) == (2, 0)


@pytest.mark.parametrize("path", ["/trainers/{a}", "/trainers/{a}/rewards", "/verifiers/{a}"])
@pytest.mark.parametrize("bad", ["0x1234", "nothex", "0x" + "g" * 40, "ab" * 21])
def test_malformed_address_is_422(api: TestClient, path: str, bad: str) -> None:
    response = api.get(path.format(a=bad))

    assert response.status_code == 422
    assert response.json() == {"detail": ADDRESS_DETAIL}


def test_bad_checksum_is_422(api: TestClient, published: Published) -> None:
    address = published.sample.trainers[0]
    broken = address[:2] + address[2:].swapcase()

    response = api.get(f"/trainers/{broken}")

    assert response.status_code == 422
    assert response.json() == {"detail": CHECKSUM_DETAIL}


def test_unknown_accounts_are_404(api: TestClient) -> None:
    assert api.get(f"/trainers/{UNKNOWN}").json() == {"detail": "Trainer not found"}
    assert api.get(f"/trainers/{UNKNOWN}/rewards").json() == {"detail": "Trainer not found"}
    assert api.get(f"/verifiers/{UNKNOWN}").json() == {"detail": "Verifier not found"}


def test_openapi_documents_every_endpoint(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    assert set(paths) >= {
        "/health", "/projects", "/projects/{project_id}", "/projects/{project_id}/rounds",
        "/projects/{project_id}/rounds/{round_no}", "/trainers/{address}",
        "/trainers/{address}/rewards", "/verifiers/{address}"}
