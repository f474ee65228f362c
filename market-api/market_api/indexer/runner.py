"""Following the chain: block ranges in order, each applied in one transaction.

Reorg safety: on chains other than the local dev chain the indexer stays ``confirmations``
blocks behind the head, so a block it applied is final for practical purposes. Should a
deeper reorg (or a reverted local snapshot, or a redeployment) still change a block already
indexed, the stored hash of the last applied block no longer matches and the index is
rebuilt from the deployment block — slower than a rollback, but never wrong.

Each batch's rows and the new cursor commit together, so a crash or restart resumes exactly
where the last commit left off, and readers never see part of a batch. Batches are written
under the index's write lock (:meth:`market_api.db.Index.writing`) and check the cursor they
continue from, so several indexers on one database take turns instead of colliding: a range
another indexer already applied is skipped.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import BlockNotFound

from fedmarket.chain.compile import load_artifact
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.node import CHAIN_ID as LOCAL_CHAIN_ID
from fedmarket.chain.types import ProjectInfo
from market_api.db import Index
from market_api.db import models as m
from market_api.indexer.events import EventDecoder
from market_api.indexer.handlers import HandlerContext, apply_log, load_result
from market_api.indexer.results import ResultFetcher

__all__ = ["Indexer", "SyncReport", "Syncing", "BackgroundIndexer", "default_confirmations"]

log = logging.getLogger(__name__)

# Blocks to stay behind the head on public chains (a few minutes of Ethereum blocks).
DEFAULT_CONFIRMATIONS = 6
# Blocks per eth_getLogs call: within what public RPC providers accept.
DEFAULT_BATCH = 2_000


def default_confirmations(chain_id: int) -> int:
    """0 on the local dev chain (instant finality), a few blocks elsewhere."""
    return 0 if chain_id == LOCAL_CHAIN_ID else DEFAULT_CONFIRMATIONS


@dataclass(frozen=True)
class SyncReport:
    """What one catch-up pass did."""

    from_block: int
    to_block: int  # the indexed head after the pass
    chain_head: int
    batches: int
    logs: int
    reset: bool

    def to_json(self) -> dict[str, int | bool]:
        """As a JSON object."""
        return {"from_block": self.from_block, "to_block": self.to_block,
                "chain_head": self.chain_head, "batches": self.batches, "logs": self.logs,
                "reset": self.reset}


class Indexer:
    """Applies the deployment's events to the index, batch by batch."""

    def __init__(self, w3: Web3, deployment: Deployment, index: Index,
                 fetch_result: ResultFetcher, confirmations: int | None = None,
                 batch_blocks: int = DEFAULT_BATCH):
        if batch_blocks < 1:
            raise ValueError(f"batch_blocks must be >= 1, got {batch_blocks}")
        self.w3 = w3
        self.deployment = deployment
        self.index = index
        self.fetch_result = fetch_result
        self.confirmations = (default_confirmations(deployment.chain_id)
                              if confirmations is None else confirmations)
        self.batch_blocks = batch_blocks
        self.decoder = EventDecoder(w3, deployment)
        self._market = w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address("FedMarket")),
            abi=load_artifact("FedMarket").abi)
        self._distributor = w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address("RewardDistributor")),
            abi=load_artifact("RewardDistributor").abi)
        self._claim_window: int | None = None
        self._times: dict[int, int] = {}

    # -- chain helpers handed to the handlers

    def _project_view(self, project: int, block: int) -> ProjectInfo | None:
        # A project's parameters never change after posting, so when the node cannot serve
        # the historical state (a restarted anvil keeps only its latest state) the current
        # view gives the same parameters.
        for at in (block, "latest"):
            try:
                raw = self._market.functions.getProject(project).call(block_identifier=at)
                return ProjectInfo.from_abi(project, raw)
            except Exception as exc:  # noqa: BLE001 - parameters are optional detail
                log.warning("getProject(%s) at block %s failed: %s", project, at, exc)
        return None

    def _round_view(self, project: int, round_: int, block: int) -> tuple[int, int] | None:
        # (verifierPool, fee) are fixed when the round starts; a node without the historical
        # state answers None and the handler derives them from the index instead.
        try:
            raw = self._market.functions.getRound(project, round_).call(block_identifier=block)
            return int(raw[10]), int(raw[13])
        except Exception as exc:  # noqa: BLE001 - derived from the index when unavailable
            log.warning("getRound(%s, %s) at block %s failed: %s", project, round_, block, exc)
            return None

    def _window(self) -> int | None:
        # Immutable on the distributor: read once.
        if self._claim_window is None:
            try:
                self._claim_window = int(self._distributor.functions.claimWindow().call())
            except Exception as exc:  # noqa: BLE001 - the expiry is optional detail
                log.warning("claimWindow() failed: %s", exc)
        return self._claim_window

    def _block_time(self, block: int) -> int | None:
        if block not in self._times:
            self._times[block] = int(self.w3.eth.get_block(block)["timestamp"])
        return self._times[block]

    # -- the cursor

    def _state(self, session: Session) -> m.SyncState:
        state = session.get(m.SyncState, 1)
        market = self.deployment.address("FedMarket")
        if state is not None and (state.chain_id, state.market.lower()) == (
                self.deployment.chain_id, market.lower()):
            return state
        if state is not None:
            raise _Reset(f"index holds deployment {state.market} on chain {state.chain_id}")
        state = m.SyncState(id=1, chain_id=self.deployment.chain_id, market=market,
                            start_block=self.deployment.start_block,
                            last_block=self.deployment.start_block - 1, last_block_hash=None,
                            chain_head=0, epoch=uuid.uuid4().hex, revision=0)
        session.add(state)
        return state

    def _cursor(self) -> tuple[int, str | None]:
        """(last applied block, its hash); the cursor is created under the write lock if absent.

        Read without the lock: a pass with nothing to apply (most of them, once caught up)
        then writes nothing and never waits on, nor blocks, another indexer.
        """
        with self.index.session() as session:
            state = session.get(m.SyncState, 1)
            if state is not None:
                self._check_deployment(state)
                return state.last_block, state.last_block_hash
        with self.index.writing() as session:
            state = self._state(session)
            return state.last_block, state.last_block_hash

    def _check_deployment(self, state: m.SyncState) -> None:
        market = self.deployment.address("FedMarket")
        if (state.chain_id, state.market.lower()) != (self.deployment.chain_id, market.lower()):
            raise _Reset(f"index holds deployment {state.market} on chain {state.chain_id}")

    def _check_continuity(self, last_block: int, last_hash: str | None) -> None:
        if last_hash is None or last_block < 0:
            return
        try:
            block = self.w3.eth.get_block(last_block)
        except BlockNotFound:
            raise _Reset(f"block {last_block} is gone (reverted chain)") from None
        if "0x" + bytes(block["hash"]).hex() != last_hash:
            raise _Reset(f"block {last_block} changed (reorg or reverted chain)")

    # -- syncing

    def indexed_block(self) -> int | None:
        """The last applied block, or None before the first batch."""
        with self.index.session() as session:
            state = session.get(m.SyncState, 1)
            if state is None or state.last_block < state.start_block:
                return None
            return state.last_block

    def sync(self, max_batches: int | None = None) -> SyncReport:
        """Catch up to the safe head (head - confirmations), or ``max_batches`` batches."""
        reset = False
        try:
            return self._sync(max_batches, reset)
        except _Reset as why:
            log.warning("rebuilding the index: %s", why)
            self.index.reset()
            self._times.clear()
            return self._sync(max_batches, True)

    def _sync(self, max_batches: int | None, reset: bool) -> SyncReport:
        head = int(self.w3.eth.block_number)
        safe = head - self.confirmations
        last_block, last_hash = self._cursor()
        self._check_continuity(last_block, last_hash)
        start = last_block + 1
        batches = logs = 0
        cursor = start
        while cursor <= safe and (max_batches is None or batches < max_batches):
            end = min(safe, cursor + self.batch_blocks - 1)
            applied, cursor = self._apply_range(cursor, end, head)
            logs += applied
            batches += 1
        self._retry_missing_results()
        return SyncReport(start, cursor - 1, head, batches, logs, reset)

    def _apply_range(self, first: int, last: int, head: int) -> tuple[int, int]:
        """Apply blocks ``first..last``; returns (logs applied, the next block to apply).

        The chain is read before the lock is taken; under it, a cursor that another indexer
        moved in the meantime means this range is stale: nothing is written and the pass goes
        on from where the other left the cursor.
        """
        raw = self.w3.eth.get_logs({"address": self.decoder.addresses,  # type: ignore[typeddict-item]
                                    "fromBlock": first, "toBlock": last})
        decoded = [d for d in (self.decoder.decode(x) for x in raw) if d is not None]
        decoded.sort(key=lambda d: (d.block_number, d.log_index))
        last_hash = "0x" + bytes(self.w3.eth.get_block(last)["hash"]).hex()
        applied = 0
        with self.index.writing() as session:  # one transaction per range
            state = self._state(session)
            if state.last_block != first - 1:
                return 0, state.last_block + 1
            ctx = HandlerContext(session, self.fetch_result, self._project_view,
                                 self._block_time, self._round_view, self._window)
            for entry in decoded:
                applied += apply_log(ctx, entry)
            state.last_block, state.last_block_hash, state.chain_head = last, last_hash, head
            if applied:
                state.revision += 1
        return applied, last + 1

    def _retry_missing_results(self) -> None:
        with self.index.session() as session:
            if session.scalar(select(m.Round.project_id).where(
                    m.Round.result_status == "missing").limit(1)) is None:
                return  # nothing to retry: no write transaction
        with self.index.writing() as session:
            changed = False
            for row in session.scalars(select(m.Round).where(m.Round.result_status == "missing")):
                load_result(session, row, self.fetch_result)
                changed |= row.result_status != "missing"
            state = session.get(m.SyncState, 1)
            if changed and state is not None:
                state.revision += 1


class _Reset(Exception):
    """The index no longer matches the chain and must be rebuilt."""


class Syncing(Protocol):
    """Anything with an indexer pass: an :class:`Indexer`, or one that follows a moving node."""

    def sync(self) -> SyncReport:
        """Catch up with the chain once."""
        ...


class BackgroundIndexer:
    """Runs ``indexer.sync()`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, indexer: Syncing, interval: float = 1.0,
                 on_error: Callable[[Exception], None] | None = None):
        self.indexer = indexer
        self.interval = interval
        self.on_error = on_error
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fedmarket-indexer",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.indexer.sync()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep following; report the last error
                self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("indexer pass failed: %s", self.last_error)
                if self.on_error is not None:
                    self.on_error(exc)
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
