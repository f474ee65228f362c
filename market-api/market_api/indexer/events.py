"""Decoding logs generically from the compiled ABIs: no topic or layout is written by hand.

A contract change that adds, renames or reshapes an event needs no change here; only the
mapping from events to tables (:mod:`market_api.indexer.handlers`) decides what is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractEvent

from fedmarket.chain.compile import load_artifact
from fedmarket.chain.deployment import Deployment

__all__ = ["DecodedLog", "EventDecoder", "INDEXED_CONTRACTS"]

# The deployment's contracts whose events the index follows.
# RoundProofs emits RoundProofVerified (proofs live outside the market: code-size limit).
INDEXED_CONTRACTS = ("FedMarket", "ParticipantRegistry", "RewardDistributor", "RoundProofs")


@dataclass(frozen=True)
class DecodedLog:
    """One log, decoded: which contract and event, its arguments and its place on chain."""

    contract: str
    event: str
    args: Mapping[str, Any]
    block_number: int
    log_index: int
    tx_hash: str
    block_hash: str


def plain(value: Any) -> Any:
    """ABI values as JSON-friendly Python: bytes as ``0x`` hex, tuples as lists."""
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


class EventDecoder:
    """Topic-0 → (contract, event) for the deployment's contracts, and the decoding itself."""

    def __init__(self, w3: Web3, deployment: Deployment,
                 contracts: Sequence[str] = INDEXED_CONTRACTS):
        self._events: dict[tuple[str, bytes], tuple[str, ContractEvent]] = {}
        self.addresses: list[str] = []
        for name in contracts:
            address = Web3.to_checksum_address(deployment.address(name))
            contract = w3.eth.contract(address=address, abi=load_artifact(name).abi)
            self.addresses.append(address)
            for event in contract.all_events():
                self._events[(address.lower(), bytes(HexBytes(event.topic)))] = (name, event)

    def decode(self, log: Mapping[str, Any]) -> DecodedLog | None:
        """The decoded log, or None for a log of no known event (anonymous, foreign)."""
        topics = log.get("topics") or []
        if not topics:
            return None
        key = (str(log["address"]).lower(), bytes(HexBytes(topics[0])))
        found = self._events.get(key)
        if found is None:
            return None
        contract, event = found
        data = event.process_log(log)  # type: ignore[arg-type]
        return DecodedLog(
            contract=contract,
            event=str(data["event"]),
            args={k: plain(v) for k, v in data["args"].items()},
            block_number=int(log["blockNumber"]),
            log_index=int(log["logIndex"]),
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            block_hash="0x" + bytes(log["blockHash"]).hex(),
        )
