"""Layer-1 verification through the real contracts: honest rounds finalize, lies are disputed."""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from aggregator.inputs import load_validation
from aggregator.rewards import split_rewards
from aggregator.service import compute_outcome
from fedmarket.chain.types import ProjectStatus, RoundPhase, RoundStatus
from fedmarket.chain.types import RoundResult as PostedResult
from fedmarket.merkle import reward_tree
from fedmarket.protocol import load_spec
from fedmarket.round_result import RoundResult, payout_leaves
from tests.contracts.scenario import travel_past
from tests.e2e.market import Market, build_market
from verifier.reexecution import GRID_SLACK


@pytest.fixture
def market(client_for, tmp_path: Path) -> Market:
    return build_market(client_for, tmp_path, trainers=6, attacks={5: "sign_flip"},
                        rounds=1, rule_params={"f": 1})


def _publish(market: Market, tamper: Callable[[RoundResult], RoundResult]) -> None:
    """Post the honest outcome after ``tamper`` rewrote it (root and hash recomputed)."""
    agg, store, project = market.aggregator, market.store, market.project
    spec = load_spec(store, market.posted.spec_cid)
    outcome = compute_outcome(agg.contracts, store, spec, project, 1,
                              load_validation(store, spec), market.deployment.start_block)
    lie = tamper(outcome.result)
    tree = reward_tree(project, 1, payout_leaves(lie.trainers))
    assert tree is not None
    lie = replace(lie, rewards_root=tree.root_hex)
    cid = store.put(lie.to_bytes())
    agg.contracts.market.submit_result(project, 1, PostedResult(
        lie.model_cid, cid, lie.result_hash(), tree.root, lie.total))


def _inflate_first_paid(result: RoundResult) -> RoundResult:
    trainers = list(result.trainers)
    i = next(i for i, t in enumerate(trainers) if t.reward > 0)
    trainers[i] = replace(trainers[i], reward=trainers[i].reward + (result.pool - result.total))
    return replace(result, trainers=tuple(trainers))


def _drop_an_honest_trainer(result: RoundResult) -> RoundResult:
    dropped = next(t for t in result.trainers if t.accepted)
    return replace(result, trainers=tuple(t for t in result.trainers if t is not dropped))


def _accept_the_sign_flipper(result: RoundResult) -> RoundResult:
    trainers = list(result.trainers)
    flipper = next(i for i, t in enumerate(trainers) if not t.accepted)
    donor = next(i for i, t in enumerate(trainers) if t.reward > 1)
    moved = trainers[donor].reward // 2
    trainers[donor] = replace(trainers[donor], reward=trainers[donor].reward - moved)
    trainers[flipper] = replace(trainers[flipper], accepted=True, reason=None, reward=moved,
                                contribution=1)
    return replace(result, trainers=tuple(trainers))


def _with_contribution_shift(result: RoundResult, shift: int) -> RoundResult:
    """Move the first paid trainer's contribution by ``shift`` micro-units, rewards re-split
    consistently from the changed contributions (a self-consistent result)."""
    trainers = list(result.trainers)
    i = next(i for i, t in enumerate(trainers) if t.reward > 0)
    trainers[i] = replace(trainers[i], contribution=trainers[i].contribution + shift)
    amounts = split_rewards(result.pool, [t.contribution for t in trainers],
                            [t.accepted for t in trainers], fallback=result.fallback)
    trainers = [replace(t, reward=a) for t, a in zip(trainers, amounts, strict=True)]
    return replace(result, trainers=tuple(trainers))


def _inflate_a_contribution(result: RoundResult) -> RoundResult:
    return _with_contribution_shift(result, 50_000)  # 0.05 of score: a real lie


@pytest.mark.parametrize("tamper", [_inflate_first_paid, _drop_an_honest_trainer,
                                    _accept_the_sign_flipper, _inflate_a_contribution])
def test_a_lying_aggregator_is_disputed_and_its_bond_slashed(market: Market, tamper) -> None:
    market.commit_and_reveal()
    owner_credit = market.owner.market.credit_of()

    _publish(market, tamper)
    for verifier in market.verifiers[:2]:
        verifier.step(market.project)
    assert market.verifiers[2].step(market.project)  # two of three seats decided: it settles

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.DISPUTED and info.disagrees == 2
    project = market.owner.market.project(market.project)
    assert project.status == ProjectStatus.ABORTED
    # The owner gets its budget back less the fee that paid the two disagreeing verifiers; the
    # bond compensates the round's revealed trainers, never the owner.
    assert market.owner.market.credit_of() == owner_credit + project.budget_wei - info.fee_wei
    bond = project.params.aggregator_bond_wei
    per_trainer, left, _ = market.owner.market.compensation(market.project, 1)
    assert left == bond and per_trainer == bond // info.reveals
    fee_share = sum(v.contracts.market.credit_of() for v in market.verifiers[:2])
    assert fee_share == info.fee_wei


def test_an_honest_round_finalizes_with_two_of_three_verifiers(market: Market) -> None:
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)

    for verifier in market.verifiers[:2]:  # the third stays silent
        assert verifier.step(market.project)
    travel_past(market.w3, market.round_info().deadlines.verify)
    assert market.aggregator.step(market.project)

    assert market.owner.market.round(market.project, 1).status == RoundStatus.FINALIZED


def test_absent_verifiers_do_not_stall_the_round(market: Market) -> None:
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)
    market.verifiers[0].step(market.project)  # one vote, quorum is two

    travel_past(market.w3, market.round_info().deadlines.verify)
    assert market.round_info().phase == RoundPhase.EXPIRED
    assert market.trainers[0].step(market.project)  # anyone may close it

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.REFUNDED
    assert market.owner.market.project(market.project).bond_held


def test_audit_flags_the_round_a_lying_aggregator_posted(market: Market) -> None:
    from verifier.audit import audit_project

    market.commit_and_reveal()
    _publish(market, _inflate_first_paid)

    audit = audit_project(market.owner, market.store, market.project,
                          market.deployment.start_block)

    round_line = audit.lines[0]
    assert not audit.passed and not round_line.passed
    assert any("reward" in problem for problem in round_line.problems)


@pytest.mark.parametrize("shift", [1, -1])
def test_a_contribution_rounded_the_other_way_is_no_dispute(market: Market, shift: int) -> None:
    # Another device may round a score lying on a micro-unit boundary to the neighbouring
    # integer: the round's wei then follow from the published integers, and it finalizes.
    market.commit_and_reveal()

    _publish(market, lambda result: _with_contribution_shift(result, shift))
    for verifier in market.verifiers[:2]:
        assert verifier.step(market.project)
    _finalize(market)

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and (info.agrees, info.disagrees) == (2, 0)


def test_a_round_aggregated_on_one_thread_verifies_on_two(market: Market) -> None:
    threads = torch.get_num_threads()
    market.commit_and_reveal()
    try:
        torch.set_num_threads(1)
        assert market.aggregator.step(market.project)
        torch.set_num_threads(2)
        for verifier in market.verifiers[:2]:
            assert verifier.step(market.project)
    finally:
        torch.set_num_threads(threads)
    _finalize(market)

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and (info.agrees, info.disagrees) == (2, 0)


def _finalize(market: Market) -> None:
    travel_past(market.w3, market.round_info().deadlines.verify)
    assert market.aggregator.step(market.project)


@pytest.fixture
def trusted_market(client_for, tmp_path: Path) -> Market:
    return build_market(client_for, tmp_path, trainers=6, attacks={5: "sign_flip"}, rounds=1,
                        rule=None)


def _with_ref_cosine_moved(result: RoundResult, steps: int) -> RoundResult:
    """The first accepted trainer's published reference cosine moved ``steps`` grid steps."""
    trainers = list(result.trainers)
    i = next(i for i, t in enumerate(trainers) if t.accepted)
    record = dict(trainers[i].robustness)
    record["ref_cosine"] += steps * GRID_SLACK
    trainers[i] = replace(trainers[i], robustness=record)
    return replace(result, trainers=tuple(trainers))


@pytest.mark.parametrize(("steps", "agree"), [(1, True), (-1, True), (3, False)])
def test_a_measurement_one_grid_step_off_is_no_dispute(trusted_market: Market, steps: int,
                                                        agree: bool) -> None:
    # The trusted rule decides on cosines rounded to 2^-16; another device may round one to the
    # neighbouring step. One step is the two sides of a rounding boundary; three is a lie.
    market = trusted_market
    market.commit_and_reveal()

    _publish(market, lambda result: _with_ref_cosine_moved(result, steps))
    for verifier in market.verifiers[:2]:
        assert verifier.step(market.project)

    info = market.owner.market.round(market.project, 1)
    assert (info.agrees, info.disagrees) == ((2, 0) if agree else (0, 2))
