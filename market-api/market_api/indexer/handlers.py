"""The mapping from contract events to index tables, all in one place.

Each handler receives a decoded log (arguments by their Solidity names) and upserts the rows
it concerns; the runner calls it inside the batch's transaction, once per log. When a
contract's events change, this module is the one to adjust: :data:`HANDLERS` names every
``(contract, event)`` the index keeps, and events not listed are recorded but otherwise
ignored (role grants, plain withdrawals).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedmarket.chain.types import Membership as MembershipKind
from fedmarket.chain.types import ParticipantKind, ProjectInfo, RefundReason
from fedmarket.errors import FedmarketError
from fedmarket.merkle import reward_tree
from fedmarket.round_result import TrainerEntry, payout_leaves
from market_api.db import models as m
from market_api.indexer.events import DecodedLog
from market_api.indexer.results import ResultFetcher, parse_result
from market_api.indexer.spec import spec_task

__all__ = ["HandlerContext", "HANDLERS", "apply_log", "load_result"]

# IFedMarket.CreditReason, in order.
CREDIT_REASONS = ("escrow_returned", "bond_returned", "bond_slashed", "verification_fee",
                  "compensation", "unclaimed_rewards")
# VotesSettled.verdict: 0 no verdict (tie or below quorum), 1 agree, 2 disagree.
VERDICTS = ("none", "agree", "disagree")
# Credits that follow a round's event in the same transaction and belong to that round.
ROUND_SCOPED = ("verification_fee", "compensation", "unclaimed_rewards")

T = TypeVar("T")


@dataclass
class HandlerContext:
    """What handlers may use besides the log: the open session and read-only chain helpers."""

    session: Session
    fetch_result: ResultFetcher
    # (project, block) -> the project view at that block, for parameters the event lacks.
    project_view: Callable[[int, int], ProjectInfo | None]
    block_time: Callable[[int], int | None]
    # (project, round, block) -> (verifier pool, fee) from the round view at that block.
    round_view: Callable[[int, int, int], tuple[int, int] | None] = lambda *_: None
    # Seconds a funded round may be claimed (RewardDistributor.claimWindow), if known.
    claim_window: Callable[[], int | None] = lambda: None
    # tx hash -> the (project, round) of its last round-scoped market event: a ``Credited``
    # that follows in the same transaction (fee, compensation, unclaimed) belongs to it.
    tx_round: dict[str, tuple[int, int]] = field(default_factory=dict)


Handler = Callable[[HandlerContext, DecodedLog], None]


def _get(session: Session, model: type[T], *key: Any, **defaults: Any) -> T:
    """The row with primary key ``key``, created (and added) with ``defaults`` when missing."""
    row = session.get(model, key if len(key) > 1 else key[0])
    if row is None:
        row = model(**dict(zip(_pk_names(model), key, strict=True)), **defaults)
        session.add(row)
    return row


def _pk_names(model: type[Any]) -> list[str]:
    return [c.key for c in model.__mapper__.primary_key]


def _project(ctx: HandlerContext, log: DecodedLog) -> m.Project | None:
    return ctx.session.get(m.Project, int(log.args["project"]))


def _round(ctx: HandlerContext, log: DecodedLog) -> m.Round:
    return _get(ctx.session, m.Round, int(log.args["project"]), int(log.args["round"]))


# -- projects


def on_project_posted(ctx: HandlerContext, log: DecodedLog) -> None:
    """A new project: its parameters from the event, the rest from the view at that block."""
    a = log.args
    project = _get(ctx.session, m.Project, int(a["project"]), owner=a["owner"],
                   aggregator=a["aggregator"], budget=str(a["budget"]), rounds=int(a["rounds"]),
                   model_spec_cid=a["modelSpecCid"], initial_weights_cid=a["initialWeightsCid"],
                   posted_block=log.block_number, status="created", trainer_count=0,
                   current_round=0, escrow_returned="0", bond_slashed="0")
    project.posted_at = ctx.block_time(log.block_number)
    task = spec_task(ctx.fetch_result, str(a["modelSpecCid"]))
    if task is not None:
        project.task_model, project.task_input_kind = task.model, task.input_kind
        project.task_input_shape, project.task_num_classes = task.input_shape, task.num_classes
        project.task_num_params = task.num_params
        project.task_lora_rank, project.task_base_params = task.lora_rank, task.base_params
    info = ctx.project_view(int(a["project"]), log.block_number)
    if info is not None:
        p = info.params
        project.aggregator_bond = str(p.aggregator_bond_wei)
        project.min_trainers, project.max_trainers = p.min_trainers, p.max_trainers
        project.verifier_quorum, project.min_reputation = p.verifier_quorum, p.min_reputation
        project.committee_size, project.verifier_fee_bps = p.committee_size, p.verifier_fee_bps
        project.scoring_method = p.scoring_method


def _set_status(status: str) -> Handler:
    def handler(ctx: HandlerContext, log: DecodedLog) -> None:
        project = _project(ctx, log)
        if project is not None:
            project.status = status
            if "escrowReturned" in log.args:
                project.escrow_returned = str(log.args["escrowReturned"])

    handler.__doc__ = f"The project is now {status}."
    return handler


def on_joined(ctx: HandlerContext, log: DecodedLog) -> None:
    """A trainer joined (the count is kept on the project for the list view)."""
    project = _project(ctx, log)
    role = MembershipKind(int(log.args["membership"])).name.lower()
    row = ctx.session.get(m.Membership, (int(log.args["project"]), log.args["account"]))
    if row is None:
        ctx.session.add(m.Membership(project_id=int(log.args["project"]),
                                     account=log.args["account"], role=role,
                                     joined_block=log.block_number))
        if project is not None:
            _count(project, role, +1)
    else:
        row.role, row.joined_block, row.left_block = role, log.block_number, None


def on_left(ctx: HandlerContext, log: DecodedLog) -> None:
    """A member left a project that is not running."""
    row = ctx.session.get(m.Membership, (int(log.args["project"]), log.args["account"]))
    if row is not None and row.left_block is None:
        row.left_block = log.block_number
        project = _project(ctx, log)
        if project is not None:
            _count(project, row.role, -1)


def _count(project: m.Project, role: str, delta: int) -> None:
    if role == "trainer":
        project.trainer_count = max(0, project.trainer_count + delta)


def on_seat_released(ctx: HandlerContext, log: DecodedLog) -> None:
    """A trainer that did not commit lost its seat and paid a penalty (a ``Left`` follows)."""
    row = ctx.session.get(m.Membership, (int(log.args["project"]), log.args["trainer"]))
    if row is not None:
        row.released_round = int(log.args["round"])
        row.release_penalty = str(log.args["penalty"])


def on_aggregator_slashed(ctx: HandlerContext, log: DecodedLog) -> None:
    """The aggregator's bond was taken (it compensates the round's revealed trainers)."""
    project = _project(ctx, log)
    if project is not None:
        project.bond_slashed = str(log.args["bond"])


def on_credited(ctx: HandlerContext, log: DecodedLog) -> None:
    """Ether credited by the market; round-scoped reasons name the round of their tx."""
    reason = int(log.args["reason"])
    name = CREDIT_REASONS[reason] if reason < len(CREDIT_REASONS) else str(reason)
    project = int(log.args["project"])
    scoped = ctx.tx_round.get(log.tx_hash)
    round_ = scoped[1] if scoped and scoped[0] == project and name in ROUND_SCOPED else None
    credit = _get(ctx.session, m.Credit, log.block_number, log.log_index,
                  account=log.args["account"], project_id=project,
                  amount=str(log.args["amount"]), reason=name)
    credit.round = round_


def _scope(ctx: HandlerContext, log: DecodedLog) -> None:
    """Remember the round of this log for the ``Credited`` logs later in its transaction."""
    ctx.tx_round[log.tx_hash] = (int(log.args["project"]), int(log.args["round"]))


# -- rounds


def on_round_started(ctx: HandlerContext, log: DecodedLog) -> None:
    """A round opened with its pool and deadlines."""
    a = log.args
    row = _round(ctx, log)
    row.status, row.pool, row.started_block = "open", str(a["pool"]), log.block_number
    row.commit_deadline, row.reveal_deadline = int(a["commitDeadline"]), int(a["revealDeadline"])
    row.result_deadline = int(a["resultDeadline"])
    project = _project(ctx, log)
    if project is not None:
        project.current_round = max(project.current_round, int(a["round"]))
    view = ctx.round_view(int(a["project"]), int(a["round"]), log.block_number)
    if view is not None:
        row.verifier_pool, row.fee = view[0], str(view[1])
    elif project is not None and project.verifier_fee_bps is not None:
        # The node lacks the historical state: the fee follows from the pool (as on chain);
        # the pool is the index's own count of registered verifiers at this log.
        row.fee = str(int(a["pool"]) * project.verifier_fee_bps // 10_000)
        row.verifier_pool = _registered_verifiers(ctx.session)
    if project is not None and project.committee_size is not None and row.verifier_pool is not None:
        row.committee_size = min(project.committee_size, row.verifier_pool)


def _registered_verifiers(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(m.Stake).where(
        (m.Stake.kind == "verifier") & m.Stake.registered)) or 0)


def on_update_committed(ctx: HandlerContext, log: DecodedLog) -> None:
    """A trainer committed to an update."""
    a = log.args
    sub = _get(ctx.session, m.Submission, int(a["project"]), int(a["round"]), a["trainer"])
    if sub.commitment is None:
        _round(ctx, log).commits += 1
    sub.commitment, sub.committed_block = a["commitment"], log.block_number


def on_update_revealed(ctx: HandlerContext, log: DecodedLog) -> None:
    """A trainer revealed the CID of its update."""
    a = log.args
    sub = _get(ctx.session, m.Submission, int(a["project"]), int(a["round"]), a["trainer"])
    if sub.cid is None:
        _round(ctx, log).reveals += 1
    sub.cid, sub.revealed_block = a["cid"], log.block_number


def on_result_submitted(ctx: HandlerContext, log: DecodedLog) -> None:
    """The aggregator posted a result: record it and read the verdicts from its JSON."""
    a = log.args
    row = _round(ctx, log)
    row.status, row.posted_block = "posted", log.block_number
    row.model_cid, row.result_cid = a["modelCid"], a["resultCid"]
    row.result_hash, row.rewards_root = a["resultHash"], a["rewardsRoot"]
    row.posted_total, row.verify_deadline = str(a["totalRewarded"]), int(a["verifyDeadline"])
    load_result(ctx.session, row, ctx.fetch_result)


def load_result(session: Session, row: m.Round, fetch: ResultFetcher) -> None:
    """Fetch and parse ``row``'s result JSON into verdicts (``missing`` retries later)."""
    if not row.result_cid:
        return
    try:
        data = fetch(row.result_cid)
    except FedmarketError as exc:  # unreadable or corrupt content: keep the reason
        row.result_status, row.result_error = "missing", str(exc).splitlines()[0]
        return
    if data is None:
        row.result_status, row.result_error = "missing", "not in the content store yet"
        return
    try:
        parsed = parse_result(data, row.result_hash)
    except FedmarketError as exc:
        row.result_status, row.result_error = "invalid", str(exc).splitlines()[0]
        return
    result = parsed.result
    if (result.project, result.round) != (row.project_id, row.round):
        row.result_status = "invalid"
        row.result_error = f"result is for project {result.project} round {result.round}"
        return
    row.result_status = "fetched"
    row.result_error = None if parsed.hash_matches else "keccak of the JSON != posted resultHash"
    row.rule, row.scorer, row.accuracy = result.rule, result.scorer, parsed.accuracy
    proofs = _reward_proofs(row, result.trainers)
    for t in result.trainers:
        verdict = _get(session, m.Verdict, row.project_id, row.round, t.address,
                       update_cid=t.update_cid, samples=t.samples, accepted=t.accepted)
        verdict.update_cid, verdict.samples, verdict.accepted = t.update_cid, t.samples, t.accepted
        verdict.reason, verdict.contribution, verdict.reward = t.reason, t.contribution, str(
            t.reward)
        verdict.robustness = json.dumps(dict(t.robustness), sort_keys=True)
        verdict.proof = proofs.get(t.address.lower())


def _reward_proofs(row: m.Round, trainers: Sequence[TrainerEntry]) -> dict[str, str]:
    """Each leaf's proof as JSON, by lowercase address; none unless the root is the posted one.

    The tree is rebuilt here, once per result, from the same leaves the aggregator used
    (:func:`payout_leaves`), so a proof the API hands out always verifies in
    ``RewardDistributor.claim`` and a rewards request does no hashing at all.
    """
    tree = reward_tree(row.project_id, row.round, payout_leaves(list(trainers)))
    if tree is None or tree.root_hex != (row.rewards_root or "").lower():
        return {}
    return {str(value[2]).lower(): json.dumps(["0x" + node.hex() for node in tree.proof(i)])
            for i, value in enumerate(tree.values)}


def on_attested(ctx: HandlerContext, log: DecodedLog) -> None:
    """A verifier voted on the posted result."""
    a = log.args
    att = _get(ctx.session, m.Attestation, int(a["project"]), int(a["round"]), a["verifier"],
               agree=bool(a["agree"]), report_cid=a["reportCid"], block=log.block_number)
    att.agree, att.report_cid, att.block = bool(a["agree"]), a["reportCid"], log.block_number
    row = _round(ctx, log)
    row.agrees, row.disagrees = int(a["agrees"]), int(a["disagrees"])


def on_votes_settled(ctx: HandlerContext, log: DecodedLog) -> None:
    """The committee's votes were counted: the verdict, its winners and what they shared."""
    a = log.args
    row = _round(ctx, log)
    verdict = int(a["verdict"])
    row.verdict = VERDICTS[verdict] if verdict < len(VERDICTS) else str(verdict)
    row.winners, row.verifiers_paid = int(a["winners"]), str(a["paid"])
    _scope(ctx, log)


def on_verifier_slashed(ctx: HandlerContext, log: DecodedLog) -> None:
    """A committee member on the losing side lost part of its stake."""
    a = log.args
    slash = _get(ctx.session, m.VerifierSlash, int(a["project"]), int(a["round"]),
                 a["verifier"], amount=str(a["amount"]), block=log.block_number)
    slash.amount, slash.block = str(a["amount"]), log.block_number
    row = _round(ctx, log)
    row.verifiers_slashed = str(sum(int(s.amount) for s in ctx.session.scalars(
        select(m.VerifierSlash).where((m.VerifierSlash.project_id == row.project_id)
                                      & (m.VerifierSlash.round == row.round)))))


def on_round_finalized(ctx: HandlerContext, log: DecodedLog) -> None:
    """The committee's majority agreed: rewards are claimable."""
    row = _round(ctx, log)
    row.status, row.closed_block = "finalized", log.block_number
    row.total_rewarded = str(log.args["totalRewarded"])


def on_round_disputed(ctx: HandlerContext, log: DecodedLog) -> None:
    """A disagreeing quorum rejected the result."""
    row = _round(ctx, log)
    row.status, row.closed_block = "disputed", log.block_number
    row.disagrees = max(row.disagrees, int(log.args["disagrees"]))
    row.total_rewarded = "0"  # the posted total stays in posted_total; nothing was paid


def on_round_refunded(ctx: HandlerContext, log: DecodedLog) -> None:
    """The round paid nothing; its pool stays in the escrow (never shown as paid)."""
    row = _round(ctx, log)
    reason = int(log.args["reason"])
    row.status, row.closed_block, row.total_rewarded = "refunded", log.block_number, "0"
    row.refund_reason = (RefundReason(reason).name.lower()
                         if reason in RefundReason._value2member_map_ else str(reason))


def on_round_proof_verified(ctx: HandlerContext, log: DecodedLog) -> None:
    """A zero-knowledge proof of the round checked on chain (by RoundProofs)."""
    _round(ctx, log).proof_verified = True


def on_compensation_opened(ctx: HandlerContext, log: DecodedLog) -> None:
    """The slashed bond is claimable by the round's revealed trainers until ``expiresAt``."""
    a = log.args
    row = _round(ctx, log)
    row.compensation_per_trainer, row.compensation_total = str(a["perTrainer"]), str(a["total"])
    row.compensation_expires_at = int(a["expiresAt"])


def on_compensation_claimed(ctx: HandlerContext, log: DecodedLog) -> None:
    """A revealed trainer took its share of the slashed bond."""
    a = log.args
    claim = _get(ctx.session, m.CompensationClaim, int(a["project"]), int(a["round"]),
                 a["trainer"], amount=str(a["amount"]), block=log.block_number)
    row = _round(ctx, log)
    row.compensation_claimed = str(int(row.compensation_claimed or "0") + int(claim.amount))
    _scope(ctx, log)


def on_compensation_burned(ctx: HandlerContext, log: DecodedLog) -> None:
    """Compensation nobody claimed within the window was burned."""
    _round(ctx, log).compensation_burned = str(log.args["amount"])


def on_unclaimed_returned(ctx: HandlerContext, log: DecodedLog) -> None:
    """A funded round's unclaimed rest came back after its claim window (owner credited)."""
    _round(ctx, log).unclaimed_returned = str(log.args["amount"])
    _scope(ctx, log)


# -- rewards


def on_round_funded(ctx: HandlerContext, log: DecodedLog) -> None:
    """The distributor holds the round's rewards under its root."""
    row = _round(ctx, log)
    row.funded_root, row.funded_total = log.args["root"], str(log.args["total"])
    funded_at, window = ctx.block_time(log.block_number), ctx.claim_window()
    if funded_at is not None and window is not None:
        row.claim_expires_at = funded_at + window


def on_reward_claimed(ctx: HandlerContext, log: DecodedLog) -> None:
    """A trainer's leaf was settled."""
    a = log.args
    claim = _get(ctx.session, m.Claim, int(a["project"]), int(a["round"]), a["trainer"],
                 amount=str(a["amount"]), block=log.block_number, tx_hash=log.tx_hash)
    claim.amount, claim.block, claim.tx_hash = str(a["amount"]), log.block_number, log.tx_hash


# -- registry


def _kind(log: DecodedLog) -> str:
    return ParticipantKind(int(log.args["kind"])).name.lower()


def on_registered(ctx: HandlerContext, log: DecodedLog) -> None:
    """An account staked as trainer or verifier."""
    stake = _get(ctx.session, m.Stake, log.args["account"], _kind(log), bindings=0)
    stake.amount, stake.registered = str(log.args["stake"]), True


def on_stake_topped_up(ctx: HandlerContext, log: DecodedLog) -> None:
    """A stake grew (the event carries the new total)."""
    stake = _get(ctx.session, m.Stake, log.args["account"], _kind(log), bindings=0)
    stake.amount, stake.registered = str(log.args["stake"]), True


def on_stake_slashed(ctx: HandlerContext, log: DecodedLog) -> None:
    """The market took part of a bound stake (the event carries what is left)."""
    stake = _get(ctx.session, m.Stake, log.args["account"], _kind(log), bindings=0)
    stake.amount = str(log.args["stake"])


def on_stake_withdrawn(ctx: HandlerContext, log: DecodedLog) -> None:
    """A stake was withdrawn in full; the account is deregistered."""
    stake = _get(ctx.session, m.Stake, log.args["account"], _kind(log), bindings=0)
    stake.amount, stake.registered = "0", False


def on_bindings(ctx: HandlerContext, log: DecodedLog) -> None:
    """A stake was locked for, or released from, one more project."""
    stake = _get(ctx.session, m.Stake, log.args["account"], _kind(log), amount="0")
    stake.bindings = int(log.args["bindings"])


def on_reputation_recorded(ctx: HandlerContext, log: DecodedLog) -> None:
    """A trainer's reputation counts after a settled leaf (absolute values)."""
    rep = _get(ctx.session, m.Reputation, log.args["trainer"])
    rep.accepted, rep.rejected = int(log.args["acceptedRounds"]), int(log.args["rejectedRounds"])


HANDLERS: dict[tuple[str, str], Handler] = {
    ("FedMarket", "ProjectPosted"): on_project_posted,
    ("FedMarket", "ProjectStarted"): _set_status("running"),
    ("FedMarket", "ProjectCancelled"): _set_status("cancelled"),
    ("FedMarket", "ProjectFinished"): _set_status("finished"),
    ("FedMarket", "ProjectAborted"): _set_status("aborted"),
    ("FedMarket", "Joined"): on_joined,
    ("FedMarket", "Left"): on_left,
    ("FedMarket", "SeatReleased"): on_seat_released,
    ("FedMarket", "AggregatorSlashed"): on_aggregator_slashed,
    ("FedMarket", "Credited"): on_credited,
    ("FedMarket", "RoundStarted"): on_round_started,
    ("FedMarket", "UpdateCommitted"): on_update_committed,
    ("FedMarket", "UpdateRevealed"): on_update_revealed,
    ("FedMarket", "ResultSubmitted"): on_result_submitted,
    ("FedMarket", "Attested"): on_attested,
    ("FedMarket", "RoundFinalized"): on_round_finalized,
    ("FedMarket", "RoundDisputed"): on_round_disputed,
    ("FedMarket", "RoundRefunded"): on_round_refunded,
    ("FedMarket", "VotesSettled"): on_votes_settled,
    ("FedMarket", "VerifierSlashed"): on_verifier_slashed,
    ("FedMarket", "CompensationOpened"): on_compensation_opened,
    ("FedMarket", "CompensationClaimed"): on_compensation_claimed,
    ("FedMarket", "CompensationBurned"): on_compensation_burned,
    ("FedMarket", "UnclaimedReturned"): on_unclaimed_returned,
    ("RoundProofs", "RoundProofVerified"): on_round_proof_verified,
    ("RewardDistributor", "RoundFunded"): on_round_funded,
    ("RewardDistributor", "RewardClaimed"): on_reward_claimed,
    ("ParticipantRegistry", "Registered"): on_registered,
    ("ParticipantRegistry", "StakeToppedUp"): on_stake_topped_up,
    ("ParticipantRegistry", "StakeWithdrawn"): on_stake_withdrawn,
    ("ParticipantRegistry", "StakeSlashed"): on_stake_slashed,
    ("ParticipantRegistry", "Bound"): on_bindings,
    ("ParticipantRegistry", "Unbound"): on_bindings,
    ("ParticipantRegistry", "ReputationRecorded"): on_reputation_recorded,
}


def apply_log(ctx: HandlerContext, log: DecodedLog) -> bool:
    """Apply ``log`` unless it was applied before; True when it was new."""
    key = (log.block_number, log.log_index)
    if ctx.session.get(m.AppliedLog, key) is not None:
        return False
    ctx.session.add(m.AppliedLog(block_number=log.block_number, log_index=log.log_index,
                                 tx_hash=log.tx_hash, contract=log.contract, event=log.event,
                                 args=json.dumps(dict(log.args), sort_keys=True, default=str)))
    handler = HANDLERS.get((log.contract, log.event))
    if handler is not None:
        handler(ctx, log)
        ctx.session.flush()  # later logs of the batch see this one's rows
    return True
