"""Typed bindings of the RewardDistributor: Merkle pull payments of finalized rounds.

Proofs come from the round's reward tree (:mod:`fedmarket.merkle`), whose leaves are
``(project, round, trainer, amount)``. Settling a leaf pays the trainer and counts the round in
its reputation (a zero-amount leaf counts as rejected), so anyone may settle anyone's leaf.
"""

from __future__ import annotations

from collections.abc import Sequence

from web3.types import TxReceipt

from fedmarket.chain.client import BoundContract, ChainClient
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.types import RewardClaim

__all__ = ["Rewards", "RoundFunds"]


class RoundFunds(tuple[bytes, int, int, int]):
    """(root, total_wei, claimed_wei, funded_at) of one funded round."""

    __slots__ = ()

    @property
    def root(self) -> bytes:
        """The round's rewards Merkle root (zero bytes: not funded)."""
        return self[0]

    @property
    def total_wei(self) -> int:
        """What the round may pay out in all."""
        return self[1]

    @property
    def claimed_wei(self) -> int:
        """What it has paid so far (the whole total once reclaimed after expiry)."""
        return self[2]

    @property
    def funded_at(self) -> int:
        """When the round was funded (unix seconds); its claim window starts then."""
        return self[3]


class Rewards:
    """The RewardDistributor contract as seen by one account."""

    def __init__(self, contract: BoundContract):
        self.contract = contract

    @classmethod
    def at(cls, client: ChainClient, deployment: Deployment) -> Rewards:
        """Bind the deployment's distributor for ``client``'s account."""
        return cls(client.bind("RewardDistributor", deployment.address("RewardDistributor")))

    @property
    def address(self) -> str:
        """The contract's address."""
        return self.contract.address

    def claim(self, project: int, round_: int, amount_wei: int, proof: Sequence[bytes],
              trainer: str | None = None) -> TxReceipt:
        """Settle ``trainer``'s (default: this account's) leaf of one round; pays the trainer."""
        return self.contract.transact("claim", project, round_,
                                      trainer or self.contract.client.address, amount_wei,
                                      list(proof))

    def claim_many(self, claims: Sequence[RewardClaim], trainer: str | None = None) -> TxReceipt:
        """Settle several leaves of one trainer (any projects and rounds) with one payment."""
        return self.contract.transact("claimMany", trainer or self.contract.client.address,
                                      [c.to_abi() for c in claims])

    def round_funds(self, project: int, round_: int) -> RoundFunds:
        """The funded root, total and claimed sum of one round."""
        raw = self.contract.call("roundFunds", project, round_)
        return RoundFunds((bytes(raw[0]), int(raw[1]), int(raw[2]), int(raw[3])))

    def reclaim_expired(self, project: int, round_: int) -> TxReceipt:
        """Anyone, after the claim window: return a round's unclaimed rest to its owner."""
        return self.contract.transact("reclaimExpired", project, round_)

    def claim_window(self) -> int:
        """Seconds after funding during which a round's leaves may be settled."""
        return int(self.contract.call("claimWindow"))

    def is_claimed(self, project: int, round_: int, trainer: str | None = None) -> bool:
        """True once the trainer's leaf of the round has been settled."""
        return bool(self.contract.call("isClaimed", project, round_,
                                       trainer or self.contract.client.address))

    def total_owed(self) -> int:
        """Unclaimed rewards of all funded rounds: what the contract's balance must equal."""
        return int(self.contract.call("totalOwed"))
