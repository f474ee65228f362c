"""FedMarket rounds: commit, reveal, result, attestation, finalization, dispute."""

from __future__ import annotations

import pytest
from web3 import Web3

from fedmarket.chain.types import (
    Attestation,
    ParticipantKind,
    ProjectStatus,
    RoundPhase,
    RoundResult,
    RoundStatus,
    SubmissionStatus,
    commitment_for,
)
from fedmarket.errors import ContractRevert
from tests.contracts.scenario import (
    AGGREGATOR,
    BOND,
    ETHER,
    OWNER,
    VERIFIER_STAKE,
    Scenario,
    cid_for,
    salt_for,
    travel_past,
)


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


def _result(total: int, root: bytes = b"\x01" * 32) -> RoundResult:
    return RoundResult("bafkreimodel", "bafkreiresult", b"\x02" * 32, root, total)


def test_commitment_for_matches_contract(sc: Scenario) -> None:
    market = sc.actor(6).market
    salt = salt_for(6, 1)

    on_chain = market.contract.call("commitmentFor", "bafkreix", salt, sc.address(6), 3, 2)

    assert bytes(on_chain) == commitment_for("bafkreix", salt, sc.address(6), 3, 2)


def test_commit_records_submission_and_emits(sc: Scenario) -> None:
    project = sc.open_project()
    market = sc.actor(6).market
    commitment = market.commitment_for(cid_for(6, 1), salt_for(6, 1), project, 1)

    receipt = market.commit(project, 1, commitment)

    assert market.submission(project, 1) == SubmissionStatus.COMMITTED
    assert market.contract.events("UpdateCommitted", receipt) == [
        {"project": project, "round": 1, "trainer": sc.address(6), "commitment": commitment}]
    assert market.phase(project, 1) == RoundPhase.COMMIT


def test_commit_by_non_trainer_refused(sc: Scenario) -> None:
    project = sc.open_project()

    err = _revert(sc.actor(3).market.commit, project, 1, b"\x01" * 32)

    assert (err.name, err.args_decoded) == ("FedMarketNotTrainer", (project, sc.address(3)))


def test_commit_for_other_round_refused(sc: Scenario) -> None:
    project = sc.open_project()

    err = _revert(sc.actor(6).market.commit, project, 2, b"\x01" * 32)

    assert (err.name, err.args_decoded) == ("FedMarketNotCurrentRound", (project, 2, 1))


@pytest.mark.parametrize("commitment", [b"\x00" * 32, b"\xff" * 32])
def test_commit_reserved_value_refused(sc: Scenario, commitment: bytes) -> None:
    project = sc.open_project()

    err = _revert(sc.actor(6).market.commit, project, 1, commitment)

    assert (err.name, err.args_decoded) == ("FedMarketInvalidCommitment", (commitment,))


def test_commit_twice_refused(sc: Scenario) -> None:
    project = sc.open_project()
    sc.commit(project, 1, (6,))

    err = _revert(sc.actor(6).market.commit, project, 1, b"\x03" * 32)

    assert err.name == "FedMarketAlreadyCommitted"
    assert err.args_decoded == (project, 1, sc.address(6))


def test_commit_after_deadline_refused(sc: Scenario) -> None:
    project = sc.open_project()
    deadline = sc.actor(0).market.deadlines(project, 1).commit
    travel_past(sc.w3, deadline)

    err = _revert(sc.actor(6).market.commit, project, 1, b"\x03" * 32)

    assert err.name == "FedMarketCommitClosed"
    assert err.args_decoded[:3] == (project, 1, deadline)
    assert err.args_decoded[3] > deadline


def test_reveal_before_everyone_committed_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6,))

    err = _revert(sc.reveal, project, 1, (6,))

    assert err.name == "FedMarketRevealNotOpen"
    assert err.args_decoded == (project, 1, RoundPhase.COMMIT)


def test_reveal_early_once_everyone_committed_closes_commits(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6, 7))

    sc.reveal(project, 1, (6,))

    market = sc.actor(0).market
    info = market.round(project, 1)
    assert (info.commits_closed, info.reveals, info.phase) == (True, 1, RoundPhase.REVEAL)
    # A newcomer joins after a CID is public: it may not commit a copy (attack 4); it takes
    # part from the next round, whose committing set is fixed when that round starts.
    sc.register((8,), ParticipantKind.TRAINER)
    sc.actor(8).market.join_as_trainer(project)
    err = _revert(sc.commit, project, 1, (8,))
    assert (err.name, err.args_decoded) == ("FedMarketJoinedTooLate",
                                            (project, 1, sc.address(8), 2))


def test_reveal_emits_cid_for_the_aggregator(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))

    sc.commit_reveal(project, 1, (6, 7))

    updates = sc.actor(AGGREGATOR).market.revealed_updates(project, 1)
    assert [(u.trainer, u.cid) for u in updates] == [
        (sc.address(6), cid_for(6, 1)), (sc.address(7), cid_for(7, 1))]
    assert sc.actor(6).market.submission(project, 1) == SubmissionStatus.REVEALED
    assert sc.actor(0).market.phase(project, 1) == RoundPhase.AGGREGATE


def test_reveal_mismatch_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit(project, 1, (6,))
    market = sc.actor(6).market
    committed = market.commitment_for(cid_for(6, 1), salt_for(6, 1), project, 1)
    wrong = market.commitment_for("bafkreicopied", salt_for(6, 1), project, 1)

    err = _revert(market.reveal, project, 1, "bafkreicopied", salt_for(6, 1))

    assert err.name == "FedMarketRevealMismatch"
    assert err.args_decoded == (project, 1, sc.address(6), committed, wrong)


def test_reveal_twice_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6, 7))
    sc.reveal(project, 1, (6,))

    err = _revert(sc.reveal, project, 1, (6,))

    assert err.name == "FedMarketAlreadyRevealed"
    assert err.args_decoded == (project, 1, sc.address(6))


def test_reveal_without_commitment_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).commit)

    err = _revert(sc.reveal, project, 1, (7,))

    assert (err.name, err.args_decoded) == ("FedMarketNoCommitment", (project, 1, sc.address(7)))


def test_reveal_after_deadline_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6, 7))
    deadline = sc.actor(0).market.deadlines(project, 1).reveal
    travel_past(sc.w3, deadline)

    err = _revert(sc.reveal, project, 1, (6,))

    assert err.name == "FedMarketRevealLate"
    assert err.args_decoded[:3] == (project, 1, deadline)


def test_submit_result_posts_and_opens_verification(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit_reveal(project, 1, (6, 7))

    tree = sc.result(project, 1, {6: ETHER, 7: 2 * ETHER})

    info = sc.actor(0).market.round(project, 1)
    assert info.status == RoundStatus.POSTED
    assert info.phase == RoundPhase.VERIFY
    assert (info.rewards_root, info.total_rewarded_wei) == (tree.root, 3 * ETHER)
    assert info.deadlines.verify == info.posted_at + 1_000
    assert info.model_cid == f"bafkreimodel{project}r1"


def test_submit_result_by_other_account_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))

    err = _revert(sc.actor(OWNER).market.submit_result, project, 1, _result(1))

    assert err.name == "FedMarketNotAggregator"
    assert err.args_decoded == (project, sc.address(OWNER), sc.address(AGGREGATOR))


def test_submit_result_before_reveals_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7))
    sc.commit(project, 1, (6, 7))
    sc.reveal(project, 1, (6,))

    err = _revert(sc.actor(AGGREGATOR).market.submit_result, project, 1, _result(1))

    assert err.name == "FedMarketResultNotOpen"
    assert err.args_decoded == (project, 1, RoundPhase.REVEAL)


def test_submit_result_above_pool_refused(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6,), rounds=3)
    sc.commit_reveal(project, 1, (6,))

    err = _revert(sc.actor(AGGREGATOR).market.submit_result, project, 1, _result(ETHER + 1))

    assert err.name == "FedMarketRewardExceedsPool"
    assert err.args_decoded == (project, 1, ETHER + 1, ETHER)


def test_submit_result_zero_root_with_rewards_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))

    err = _revert(sc.actor(AGGREGATOR).market.submit_result, project, 1,
                  _result(5, root=b"\x00" * 32))

    assert (err.name, err.args_decoded) == ("FedMarketEmptyRewardsRoot", (project, 1, 5))


def test_submit_result_with_too_few_reveals_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6, 7), min_trainers=2)
    sc.commit(project, 1, (6,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).commit)
    sc.reveal(project, 1, (6,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).reveal)

    err = _revert(sc.actor(AGGREGATOR).market.submit_result, project, 1, _result(1))

    assert (err.name, err.args_decoded) == ("FedMarketTooFewReveals", (project, 1, 1, 2))


def test_submit_result_after_deadline_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    deadline = sc.actor(0).market.deadlines(project, 1).result
    travel_past(sc.w3, deadline)

    err = _revert(sc.actor(AGGREGATOR).market.submit_result, project, 1, _result(1))

    assert err.name == "FedMarketResultLate"
    assert err.args_decoded[:3] == (project, 1, deadline)


def test_submit_result_twice_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})

    err = _revert(sc.actor(AGGREGATOR).market.submit_result, project, 1, _result(1))

    assert (err.name, err.args_decoded) == ("FedMarketResultNotOpen",
                                            (project, 1, RoundPhase.VERIFY))


def test_attest_records_vote(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})

    receipt = sc.actor(3).market.attest(project, 1, True, "bafkreireport")

    assert sc.actor(3).market.attestation(project, 1) == Attestation.AGREE
    event = sc.actor(3).market.contract.events("Attested", receipt)[0]
    assert (event["agree"], event["reportCid"], event["agrees"]) == (True, "bafkreireport", 1)


def test_attest_by_non_verifier_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})

    err = _revert(sc.actor(6).market.attest, project, 1, True, "x")

    assert (err.name, err.args_decoded) == ("FedMarketNotOnCommittee",
                                            (project, 1, sc.address(6)))


def test_attest_before_result_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))

    err = _revert(sc.actor(3).market.attest, project, 1, True, "x")

    assert err.name == "FedMarketAttestNotOpen"
    assert err.args_decoded == (project, 1, RoundPhase.COMMIT)


def test_attest_twice_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3,))

    err = _revert(sc.actor(3).market.attest, project, 1, False, "x")

    assert err.name == "FedMarketAlreadyAttested"


def test_attest_after_verify_window_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).verify)

    err = _revert(sc.actor(3).market.attest, project, 1, True, "x")

    assert err.args_decoded == (project, 1, RoundPhase.EXPIRED)


def test_finalize_during_verify_window_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3,))  # one of three seats: no majority of the committee yet

    err = _revert(sc.actor(0).market.finalize, project)

    assert err.name == "FedMarketNotFinalizable"
    assert err.args_decoded == (project, 1, RoundPhase.VERIFY, 1, 2)


def test_finalize_early_once_a_majority_of_seats_agreed(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3, 4))  # two of three seats: the third vote cannot change the verdict

    sc.actor(0).market.finalize(project)

    assert sc.actor(0).market.round(project, 1).status == RoundStatus.FINALIZED


def test_finalize_without_quorum_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3,))
    travel_past(sc.w3, sc.actor(0).market.deadlines(project, 1).verify)

    err = _revert(sc.actor(0).market.finalize, project)

    assert err.args_decoded == (project, 1, RoundPhase.EXPIRED, 1, 2)


def test_finalize_funds_distributor_and_updates_global_model(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6, 7))
    market = sc.actor(0).market
    assert market.current_model_cid(project) == "bafkreiinitialweights"

    tree = sc.play_round(project, 1, {6: ETHER, 7: ETHER // 2})

    assert market.round(project, 1).status == RoundStatus.FINALIZED
    assert market.current_model_cid(project) == f"bafkreimodel{project}r1"
    assert market.project(project).escrow_wei == 3 * ETHER - tree.total
    funds = sc.actor(0).rewards.round_funds(project, 1)
    assert (funds.root, funds.total_wei, funds.claimed_wei) == (tree.root, tree.total, 0)
    sc.assert_solvent()


def test_finalize_zero_root_round_pays_nothing(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.actor(AGGREGATOR).market.submit_result(project, 1, _result(0, root=b"\x00" * 32))
    sc.attest(project, 1, (3, 4))

    sc.finalize_after_window(project, 1)

    assert sc.actor(0).market.round(project, 1).status == RoundStatus.FINALIZED
    assert sc.actor(0).rewards.round_funds(project, 1).total_wei == 0
    sc.assert_solvent()


def test_attest_disagreeing_majority_disputes_slashes_and_compensates(sc: Scenario) -> None:
    project = sc.open_project(budget=3 * ETHER, trainers=(6,), rounds=3, verifier_fee_bps=1_000)
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER // 2})
    sc.attest(project, 1, (3,), agree=True)
    sc.attest(project, 1, (4,), agree=False)
    sc.attest(project, 1, (5,), agree=False)
    market = sc.actor(OWNER).market
    assert market.phase(project, 1) == RoundPhase.EXPIRED  # decided: settle without waiting

    market.advance(project)

    assert market.round(project, 1).status == RoundStatus.DISPUTED
    info = market.project(project)
    assert (info.status, info.bond_held, info.escrow_wei) == (ProjectStatus.ABORTED, False, 0)
    # The owner gets its escrow back less the fee the checking earned, never the bond.
    fee = ETHER // 10  # 10 % of round 1's pool of 1 ETH
    assert market.credit_of() == 3 * ETHER - fee
    assert market.credit_of(sc.address(AGGREGATOR)) == 0
    # The losing verifier pays half the minimum stake; the winners share it with the fee.
    slash = VERIFIER_STAKE // 2
    assert sc.actor(3).registry.stake_of(ParticipantKind.VERIFIER) == VERIFIER_STAKE - slash
    assert market.credit_of(sc.address(4)) + market.credit_of(sc.address(5)) == fee + slash
    # The bond goes to the round's one revealed trainer, whose work went unpaid.
    assert sc.actor(6).market.claim_compensation(project, 1) == BOND
    sc.assert_solvent()
    assert market.withdraw() == 3 * ETHER - fee
    sc.assert_solvent()


def test_attest_after_majority_refused_and_after_dispute_refused(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))
    sc.result(project, 1, {6: ETHER})
    sc.attest(project, 1, (3, 4), agree=False)

    err = _revert(sc.actor(5).market.attest, project, 1, True, "x")
    assert (err.name, err.args_decoded) == ("FedMarketAttestNotOpen",
                                            (project, 1, RoundPhase.EXPIRED))
    sc.actor(0).market.advance(project)
    err = _revert(sc.actor(5).market.attest, project, 1, True, "x")
    assert err.name == "FedMarketWrongProjectStatus"
    assert err.args_decoded == (project, ProjectStatus.ABORTED, ProjectStatus.RUNNING)


def test_round_result_hash_is_stored(sc: Scenario) -> None:
    project = sc.open_project(trainers=(6,))
    sc.commit_reveal(project, 1, (6,))

    sc.result(project, 1, {6: ETHER})

    stored = sc.actor(0).market.round(project, 1).result_hash
    assert stored == Web3.keccak(text=f"result-{project}-1")
