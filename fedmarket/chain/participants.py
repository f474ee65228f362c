"""Typed bindings of the ParticipantRegistry: stakes of trainers and verifiers, reputation.

A stake is locked while its owner is a member of a running project; withdraw after leaving.
"""

from __future__ import annotations

from web3.types import TxReceipt

from fedmarket.chain.client import BoundContract, ChainClient
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.types import ParticipantKind, Reputation

__all__ = ["Registry"]


class Registry:
    """The ParticipantRegistry contract as seen by one account."""

    def __init__(self, contract: BoundContract):
        self.contract = contract

    @classmethod
    def at(cls, client: ChainClient, deployment: Deployment) -> Registry:
        """Bind the deployment's registry for ``client``'s account."""
        return cls(client.bind("ParticipantRegistry", deployment.address("ParticipantRegistry")))

    @property
    def address(self) -> str:
        """The contract's address."""
        return self.contract.address

    def _me(self, account: str | None) -> str:
        return account or self.contract.client.address

    def register(self, kind: ParticipantKind, stake_wei: int) -> TxReceipt:
        """Register this account as ``kind`` with ``stake_wei`` (at least the minimum)."""
        return self.contract.transact("register", int(kind), value=stake_wei)

    def top_up(self, kind: ParticipantKind, amount_wei: int) -> TxReceipt:
        """Add ``amount_wei`` to this account's ``kind`` stake."""
        return self.contract.transact("topUp", int(kind), value=amount_wei)

    def withdraw(self, kind: ParticipantKind) -> int:
        """Withdraw the whole ``kind`` stake (refused while bound); returns the wei paid."""
        receipt = self.contract.transact("withdraw", int(kind))
        return sum(int(e["amount"]) for e in self.contract.events("StakeWithdrawn", receipt))

    def min_stake(self, kind: ParticipantKind) -> int:
        """The deployment's minimum ``kind`` stake in wei."""
        return int(self.contract.call("minStake", int(kind)))

    def stake_of(self, kind: ParticipantKind, account: str | None = None) -> int:
        """``account``'s ``kind`` stake in wei (0 when not registered)."""
        return int(self.contract.call("stakeOf", self._me(account), int(kind)))

    def bindings(self, kind: ParticipantKind, account: str | None = None) -> int:
        """Number of projects holding ``account``'s ``kind`` stake."""
        return int(self.contract.call("bindings", self._me(account), int(kind)))

    def is_eligible(self, kind: ParticipantKind, account: str | None = None) -> bool:
        """True when ``account`` may join projects as ``kind``."""
        return bool(self.contract.call("isEligible", self._me(account), int(kind)))

    def reputation(self, trainer: str | None = None) -> Reputation:
        """``trainer``'s accepted and rejected round counts."""
        raw = self.contract.call("reputationOf", self._me(trainer))
        return Reputation(int(raw[0]), int(raw[1]))

    def verifier_count(self) -> int:
        """Registered verifiers: the pool every round's committee is drawn from."""
        return int(self.contract.call("verifierCount"))

    def total_staked(self) -> int:
        """Sum of all stakes: what the contract's balance must equal."""
        return int(self.contract.call("totalStaked"))
