"""A trainer's rewards: earned, claimed, claimable, and the Merkle proofs to claim.

Proofs are rebuilt from the stored round result (the same leaves,
:func:`fedmarket.round_result.payout_leaves`, and tree the aggregator used), and handed out
only when the rebuilt root equals the root posted on chain, so a proof from this API always
verifies in ``RewardDistributor.claim``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedmarket.merkle import StandardMerkleTree, reward_tree
from fedmarket.round_result import TrainerEntry, payout_leaves
from market_api.api.schemas import RewardPublic, TrainerRewardsPublic
from market_api.db import models as m

__all__ = ["trainer_rewards", "RoundTrees"]


class RoundTrees:
    """Reward trees of finalized rounds (immutable once final), kept in a small LRU."""

    def __init__(self, size: int = 256):
        self.size = size
        self._trees: OrderedDict[tuple[int, int, str], StandardMerkleTree | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, row: m.Round) -> StandardMerkleTree | None:
        """The round's tree if its root equals the posted root, else None."""
        key = (row.project_id, row.round, row.rewards_root or "")
        with self._lock:
            if key in self._trees:
                self._trees.move_to_end(key)
                return self._trees[key]
        entries = [TrainerEntry(address=v.trainer, update_cid=v.update_cid, samples=v.samples,
                                accepted=v.accepted, reason=v.reason, reward=int(v.reward))
                   for v in session.scalars(select(m.Verdict).where(
                       (m.Verdict.project_id == row.project_id)
                       & (m.Verdict.round == row.round)))]
        entries.sort(key=lambda e: e.address.lower())
        tree = reward_tree(row.project_id, row.round, payout_leaves(entries))
        if tree is None or tree.root_hex != (row.rewards_root or "").lower():
            tree = None
        with self._lock:
            self._trees[key] = tree
            while len(self._trees) > self.size:
                self._trees.popitem(last=False)
        return tree


def _proof(tree: StandardMerkleTree | None, trainer: str) -> list[str] | None:
    if tree is None:
        return None
    for i, value in enumerate(tree.values):
        if str(value[2]).lower() == trainer.lower():
            return ["0x" + node.hex() for node in tree.proof(i)]
    return None


def trainer_rewards(session: Session, trees: RoundTrees, address: str) -> TrainerRewardsPublic:
    """Every reward leaf of ``address`` with its state (``address`` is checksummed)."""
    claims = {(c.project_id, c.round): c for c in session.scalars(
        select(m.Claim).where(m.Claim.trainer == address))}
    rows = session.execute(
        select(m.Verdict, m.Round).join(m.Round, (m.Round.project_id == m.Verdict.project_id)
                                        & (m.Round.round == m.Verdict.round))
        .where(m.Verdict.trainer == address)
        .order_by(m.Verdict.project_id, m.Verdict.round))
    rewards: list[RewardPublic] = []
    earned = claimed = claimable = pending = 0
    seen: set[tuple[int, int]] = set()
    for verdict, round_row in rows:
        amount = int(verdict.reward)
        key = (verdict.project_id, verdict.round)
        seen.add(key)
        if amount == 0:
            continue
        proof = None
        if key in claims:
            status = "claimed"
        elif round_row.status == "finalized":
            status = "claimable"
            proof = _proof(trees.get(session, round_row), address)
        elif round_row.status in ("open", "posted"):
            status = "pending"
        else:
            status = "lost"
        if status in ("claimed", "claimable"):
            earned += amount
        if status == "claimable":
            claimable += amount
        if status == "pending":
            pending += amount
        rewards.append(RewardPublic(project=key[0], round=key[1], amount=str(amount),
                                    status=status, rewards_root=round_row.rewards_root,
                                    proof=proof))
    for key, claim in claims.items():
        claimed += int(claim.amount)
        if key not in seen:  # a settled leaf whose result the index could not read
            earned += int(claim.amount)
            rewards.append(RewardPublic(project=key[0], round=key[1], amount=claim.amount,
                                        status="claimed", rewards_root=None, proof=None))
    rewards.sort(key=lambda r: (r.project, r.round))
    return TrainerRewardsPublic(address=address, earned=str(earned), claimed=str(claimed),
                                claimable=str(claimable), pending=str(pending),
                                rewards=rewards)
