"""Prove a published round's payout with Groth16 and have the market verify it on chain.

The aggregator proves (its decisions are at stake and it has the result at hand); every input
is in the published result, so anyone else can run :func:`prove_published_round` too: a
verifier that agreed with a result still unproven when it attested proves it (the aggregator
may have died between posting and proving; a claimed round cannot finalize unproven, and its
trainers would get the bond instead of their rewards), and so can a trainer. Here, not in
``aggregator/``, because components never import each other. Two steps, around the result's
submission:

1. :func:`plan_proof`, before ``submitResult``: the payout statement of the result
   (:mod:`fedmarket.zk.round`); its claim, ``keccak256(measurementsRoot, params)``, goes on
   chain with the result as ``proofClaim``. A claimed round must be proven before it can
   finalize, so the plan also proves nothing is off (the statement is checked against the
   published verdicts and amounts).
2. :func:`prove_published_round`, after it: prove with snarkjs (the smallest committed circuit
   that holds the round) and call ``submitProof`` with the payout (trainers, amounts,
   verdicts, tree order), from which the market rebuilds the rewards tree and the binding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import RoundPayout, RoundProof
from fedmarket.rewards_query import round_result_of
from fedmarket.round_result import RoundResult
from fedmarket.storage.base import ContentStore
from fedmarket.zk import PayoutStatement, prove_payout
from fedmarket.zk.round import RoundClaim, UnprovableRound, payout_statement, round_claim

__all__ = ["ProofPlan", "ProofReceipt", "plan_proof", "prove_published_round"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProofPlan:
    """A round's payout statement and the claim posted for it."""

    result: RoundResult
    statement: PayoutStatement
    claim: RoundClaim


@dataclass(frozen=True)
class ProofReceipt:
    """A proof the market verified on chain."""

    project: int
    round: int
    size: int
    public_inputs: tuple[int, ...]
    tx: str
    gas_used: int
    prove_seconds: float


def plan_proof(result: RoundResult) -> ProofPlan:
    """The statement of ``result``'s proof; raises UnprovableRound (with why) if it has none."""
    statement = payout_statement(result)
    return ProofPlan(result, statement, round_claim(statement))


def prove_published_round(contracts: MarketContracts, store: ContentStore, project: int,
                          round_: int, *, plan: ProofPlan | None = None,
                          note: Callable[[str], None] | None = None) -> ProofReceipt | None:
    """Prove the posted result of a round and have the market verify it.

    Returns None, passing the reason to ``note`` (default: this module's logger), when the
    round has no result, no claim, already a proof, or cannot carry one. ``plan`` skips
    rebuilding the statement when the caller just built it for the same result.
    """
    say = note or _log.info
    market = contracts.market
    info = market.round(project, round_)
    if info.posted_at == 0:
        say(f"round {round_}: no proof: no result posted")
        return None
    if info.proof_verified:
        say(f"round {round_}: no proof: one is already verified")
        return None
    state = market.round_proof(project, round_)
    if not state.claimed:
        say(f"round {round_}: no proof: the posted result offers none")
        return None
    try:
        if plan is None:
            plan = plan_proof(round_result_of(store, info.result_cid, info.result_hash))
    except UnprovableRound as exc:
        say(f"round {round_}: no proof: {exc}")
        return None
    if plan.claim.claim != state.claim:
        say(f"round {round_}: no proof: the posted claim is not this result's")
        return None
    if plan.statement.n != info.reveals or plan.statement.pool != info.trainer_pool_wei:
        say(f"round {round_}: no proof: the result's {plan.statement.n} trainers and pool "
            f"{plan.statement.pool} are not the round's {info.reveals} reveals and pool "
            f"{info.trainer_pool_wei}")
        return None
    started = time.perf_counter()
    proof, public, size = prove_payout(plan.statement)
    seconds = time.perf_counter() - started
    a, b, c = proof.solidity_args()
    receipt = market.submit_proof(project, round_, RoundProof(
        (a[0], a[1]), ((b[0][0], b[0][1]), (b[1][0], b[1][1])), (c[0], c[1]),
        plan.claim.measurements_root, plan.claim.params, size),
        RoundPayout.from_result(plan.result))
    return ProofReceipt(project, round_, size, tuple(public),
                        receipt["transactionHash"].hex(), int(receipt["gasUsed"]), seconds)
