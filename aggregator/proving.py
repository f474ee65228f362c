"""Prove a published round with Groth16 and have the market verify it on chain.

The aggregator proves (it is the party whose decisions are at stake and has every input at
hand); since all inputs are public, anyone else can run :func:`prove_published_round` too.
Two steps, around the result's submission:

1. :func:`plan_proof`, before ``submitResult``: rebuild the round's inputs, sketch the updates
   with the round's on-chain seed and build the statement from the result
   (:mod:`fedmarket.zk.round`); its :class:`~fedmarket.zk.round.RoundClaim` goes on chain with
   the result as ``proofClaim``, binding ``sketchRoot``, ``decisionsRoot``, ``f`` and ``m`` to
   the posted result.
2. :func:`prove_published_round`, after it: prove with snarkjs against the on-chain circuit
   size and call ``submitProof``; the market supplies pool, reveal count and seed itself.

A round that cannot carry a proof (see :mod:`fedmarket.zk.round`: not multi_krum, more than
16 trainers, an update rejected before the rule, integer Multi-Krum on sketches disagreeing
with the float selection) gets none: ``None`` with the reason passed to ``note``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aggregator.inputs import gather_round
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import RoundProof
from fedmarket.modelspec import ModelSpec
from fedmarket.rewards_query import round_result_of
from fedmarket.round_result import RoundResult
from fedmarket.storage.base import ContentStore
from fedmarket.zk import ONCHAIN_N_MAX, RoundStatement, prove_round
from fedmarket.zk.round import (
    PROVABLE_RULE,
    RoundClaim,
    UnprovableRound,
    round_claim,
    round_statement,
)

__all__ = ["ProofPlan", "ProofReceipt", "plan_proof", "prove_published_round"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProofPlan:
    """A round's statement and the claim posted for it."""

    project: int
    round: int
    statement: RoundStatement
    claim: RoundClaim


@dataclass(frozen=True)
class ProofReceipt:
    """A proof the market verified on chain."""

    project: int
    round: int
    n_max: int
    public_inputs: tuple[int, ...]
    tx: str
    gas_used: int
    prove_seconds: float


def plan_proof(contracts: MarketContracts, store: ContentStore, spec: ModelSpec, project: int,
               round_: int, result: RoundResult, from_block: int = 0) -> ProofPlan:
    """The statement of ``result``'s proof; raises UnprovableRound (with why) if it has none."""
    if spec.aggregation.rule != PROVABLE_RULE:
        raise UnprovableRound(f"rule {spec.aggregation.rule!r}: proofs cover "
                              f"{PROVABLE_RULE} only")
    market = contracts.market
    info = market.round(project, round_)
    seed = market.sketch_seed(project, round_)
    inputs = gather_round(market, store, spec, project, round_, from_block).inputs
    if [t.lower() for t in inputs.trainers] != [t.address.lower() for t in result.trainers]:
        raise UnprovableRound("the result's trainers are not the round's revealed trainers")
    if len(inputs.trainers) != info.reveals or result.pool != info.trainer_pool_wei:
        raise UnprovableRound(f"{len(inputs.trainers)} updates and pool {result.pool} do not "
                              f"match the round's {info.reveals} reveals and pool "
                              f"{info.trainer_pool_wei}")
    updates = [row.double().numpy() for row in inputs.updates]
    statement = round_statement(result, updates, seed)
    return ProofPlan(project, round_, statement, round_claim(statement))


def prove_published_round(contracts: MarketContracts, store: ContentStore, spec: ModelSpec,
                          project: int, round_: int, *, from_block: int = 0,
                          plan: ProofPlan | None = None,
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
            result = round_result_of(store, info.result_cid, info.result_hash)
            plan = plan_proof(contracts, store, spec, project, round_, result, from_block)
    except UnprovableRound as exc:
        say(f"round {round_}: no proof: {exc}")
        return None
    if plan.claim.claim != state.claim:
        say(f"round {round_}: no proof: the posted claim is not this result's")
        return None
    started = time.perf_counter()
    proof, public = prove_round(plan.statement, ONCHAIN_N_MAX)
    seconds = time.perf_counter() - started
    a, b, c = proof.solidity_args()
    claim = plan.claim
    receipt = market.submit_proof(project, round_, RoundProof(
        (a[0], a[1]), ((b[0][0], b[0][1]), (b[1][0], b[1][1])), (c[0], c[1]),
        claim.sketch_root, claim.decisions_root, claim.f, claim.m))
    return ProofReceipt(project, round_, ONCHAIN_N_MAX, tuple(public),
                        receipt["transactionHash"].hex(), int(receipt["gasUsed"]), seconds)
