"""What an address earned, claimed and can still claim — read from chain and storage.

Rewards of a finalized round are leaves of the Merkle tree whose root the round posted; the
tree is rebuilt from the round's result file (by CID, hash-checked against the posted
``resultHash``), so a trainer needs nobody's cooperation to obtain its proof and claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak, to_checksum_address

from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import RewardClaim, RoundStatus
from fedmarket.errors import VerificationError
from fedmarket.merkle import reward_tree
from fedmarket.round_result import RoundResult, payout_leaves
from fedmarket.storage.base import ContentStore

__all__ = ["RewardLine", "RewardSummary", "rewards_of", "claim_rewards", "round_result_of"]


@dataclass(frozen=True)
class RewardLine:
    """One round's reward for one address."""

    project: int
    round: int
    amount_wei: int
    claimed: bool
    proof: tuple[bytes, ...]


@dataclass
class RewardSummary:
    """An address's rewards across projects."""

    address: str
    lines: list[RewardLine] = field(default_factory=list)

    @property
    def earned_wei(self) -> int:
        """Everything awarded in finalized rounds."""
        return sum(line.amount_wei for line in self.lines)

    @property
    def claimed_wei(self) -> int:
        """What was already paid out."""
        return sum(line.amount_wei for line in self.lines if line.claimed)

    @property
    def claimable_wei(self) -> int:
        """What a claim would pay now."""
        return self.earned_wei - self.claimed_wei


def round_result_of(store: ContentStore, result_cid: str, result_hash: bytes) -> RoundResult:
    """Fetch a posted round result and check it against the on-chain hash."""
    data = store.get(result_cid)
    if keccak(data) != result_hash:
        raise VerificationError(f"result {result_cid} does not hash to the posted resultHash")
    return RoundResult.from_bytes(data)


def rewards_of(contracts: MarketContracts, store: ContentStore, address: str,
               projects: list[int] | None = None) -> RewardSummary:
    """Every finalized-round reward of ``address`` with the proof needed to claim it."""
    address = to_checksum_address(address)
    market = contracts.market
    summary = RewardSummary(address)
    ids = projects if projects is not None else list(range(1, market.project_count() + 1))
    for project in ids:
        current = market.project(project).current_round
        for round_ in range(1, current + 1):
            info = market.round(project, round_)
            if info.status != RoundStatus.FINALIZED or info.total_rewarded_wei == 0:
                continue
            result = round_result_of(store, info.result_cid, info.result_hash)
            amounts = payout_leaves(result.trainers)
            if not any(a == address and reward > 0 for a, reward in amounts):
                continue
            tree = reward_tree(project, round_, amounts)
            assert tree is not None  # a positive reward means a non-empty tree
            index = next(i for i, v in enumerate(tree.values) if v[2] == address)
            summary.lines.append(RewardLine(
                project, round_, int(tree.values[index][3]),
                contracts.rewards.is_claimed(project, round_, address),
                tuple(tree.proof(index))))
    return summary


def claim_rewards(contracts: MarketContracts, store: ContentStore, address: str,
                  projects: list[int] | None = None) -> tuple[int, list[RewardLine]]:
    """Claim every unclaimed reward of ``address`` in one transaction; return (wei, lines)."""
    summary = rewards_of(contracts, store, address, projects)
    open_lines = [line for line in summary.lines if not line.claimed]
    if not open_lines:
        return 0, []
    contracts.rewards.claim_many(
        [RewardClaim(line.project, line.round, line.amount_wei, list(line.proof))
         for line in open_lines], trainer=address)
    return sum(line.amount_wei for line in open_lines), open_lines
