"""A trainer's rewards: earned, claimed, claimable, and the Merkle proofs to claim.

Proofs come from the index: the indexer rebuilds each round's tree once from the stored round
result (the same leaves, :func:`fedmarket.round_result.payout_leaves`, and tree the aggregator
used) and keeps a leaf's proof only when the rebuilt root equals the root posted on chain, so a
proof from this API always verifies in ``RewardDistributor.claim``. A leaf whose round's claim
window passed (its unclaimed rest returned to the owner) is ``expired``. A request is then two
range reads on the trainer's index, whatever the size of the index or of each round.
"""

from __future__ import annotations

import json

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from market_api.api.schemas import RewardPublic, TrainerRewardsPublic
from market_api.db import models as m

__all__ = ["trainer_rewards"]


_ADDRESS: BindParameter[str] = bindparam("address")
_CLAIMS = select(m.Claim.project_id, m.Claim.round, m.Claim.amount).where(
    m.Claim.trainer == _ADDRESS)
_COMPENSATED = select(m.CompensationClaim.amount).where(m.CompensationClaim.trainer == _ADDRESS)
_LEAVES = (select(m.Verdict.project_id, m.Verdict.round, m.Verdict.reward, m.Verdict.proof,
                  m.Round.status, m.Round.rewards_root, m.Round.claim_expires_at,
                  m.Round.unclaimed_returned)
           .join(m.Round, (m.Round.project_id == m.Verdict.project_id)
                 & (m.Round.round == m.Verdict.round))
           .where(m.Verdict.trainer == _ADDRESS)
           .order_by(m.Verdict.project_id, m.Verdict.round))


def trainer_rewards(session: Session, address: str) -> TrainerRewardsPublic:
    """Every reward leaf of ``address`` with its state (``address`` is checksummed)."""
    connection = session.connection()
    bound = {"address": address}
    claims = {(project, round_): amount
              for project, round_, amount in connection.execute(_CLAIMS, bound)}
    rows = connection.execute(_LEAVES, bound)
    rewards: list[RewardPublic] = []
    earned = claimed = claimable = pending = 0
    seen: set[tuple[int, int]] = set()
    for project, round_, reward, proof_json, status, root, expires, returned in rows:
        amount = int(reward)
        key = (project, round_)
        seen.add(key)
        if amount == 0:
            continue
        proof = None
        if key in claims:
            state = "claimed"
        elif status == "finalized" and returned is not None:
            state = "expired"  # the claim window passed; the rest went back to the owner
        elif status == "finalized":
            state = "claimable"
            proof = json.loads(proof_json) if proof_json else None
        elif status in ("open", "posted"):
            state = "pending"
        else:
            state = "lost"
        if state in ("claimed", "claimable"):
            earned += amount
        if state == "claimable":
            claimable += amount
        if state == "pending":
            pending += amount
        rewards.append(RewardPublic.model_construct(
            project=project, round=round_, amount=str(amount), status=state,
            rewards_root=root, claim_expires_at=expires, proof=proof))
    for key, amount_text in claims.items():
        claimed += int(amount_text)
        if key not in seen:  # a settled leaf whose result the index could not read
            earned += int(amount_text)
            rewards.append(RewardPublic.model_construct(
                project=key[0], round=key[1], amount=amount_text, status="claimed",
                rewards_root=None, claim_expires_at=None, proof=None))
    rewards.sort(key=lambda r: (r.project, r.round))
    compensated = sum(int(a) for a in connection.execute(_COMPENSATED, bound).scalars())
    return TrainerRewardsPublic(address=address, earned=str(earned), claimed=str(claimed),
                                claimable=str(claimable), pending=str(pending),
                                compensated=str(compensated), rewards=rewards)
