"""Round-protocol helpers every role shares: waiting on the chain, a round's inputs, keeping.

Roles never talk to each other; they watch the chain. These helpers hold the few rules all of
them must agree on, so trainer, aggregator and verifier cannot drift apart:

* the model a round starts from is the model of the last *finalized* earlier round, else the
  project's initial weights (a refunded round changes nothing);
* anyone may close a round whose deadline passed (``advance``) or whose verify window ended
  with an agreeing quorum (``finalize``); every role does so opportunistically, and a race
  where another party closed it first is not an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fedmarket.chain.market import Market
from fedmarket.chain.types import ProjectInfo, ProjectStatus, RoundInfo, RoundPhase, RoundStatus
from fedmarket.errors import (
    CodecError,
    ConfigError,
    ContractRevert,
    FedmarketError,
    StorageError,
)
from fedmarket.modelspec import ModelSpec
from fedmarket.storage.base import ContentStore
from fedmarket.tokenizer_spec import PostedTokenizer

__all__ = [
    "Backoff", "FailureBudget", "base_model_cid", "load_spec", "load_lora_base",
    "keep_round_moving",
    "project_active", "ACTIVE_STATUSES",
]

T = TypeVar("T")

ACTIVE_STATUSES = (ProjectStatus.CREATED, ProjectStatus.RUNNING)


@dataclass
class Backoff:
    """Polling interval that grows while nothing happens and resets when something does."""

    initial: float = 0.2
    maximum: float = 2.0
    factor: float = 1.5
    current: float = 0.0

    def sleep(self) -> None:
        """Sleep the current interval, then lengthen it."""
        self.current = self.initial if self.current == 0 else min(self.maximum,
                                                                  self.current * self.factor)
        time.sleep(self.current)

    def reset(self) -> None:
        """Something happened: poll quickly again."""
        self.current = 0.0


@dataclass
class FailureBudget:
    """How many consecutive failed steps a long-running role loop absorbs before giving up.

    A node restart, a dropped RPC connection or a race lost to another party's transaction
    makes one step fail; the next step re-reads the chain and carries on. Only a run of
    ``limit`` failures in a row — something persistently wrong — stops the role, with the
    last error.
    """

    limit: int = 20
    failures: int = 0

    def absorb(self, exc: FedmarketError, note: Callable[[str], None]) -> None:
        """Count a failure and report it, or re-raise once the budget is spent."""
        self.failures += 1
        if self.failures >= self.limit:
            raise exc
        note(f"{str(exc).splitlines()[0]} (failure {self.failures}/{self.limit}; retrying)")

    def ok(self) -> None:
        """A step went through: the count starts again."""
        self.failures = 0


def project_active(info: ProjectInfo) -> bool:
    """True while the project can still have rounds to play."""
    return info.status in ACTIVE_STATUSES


def base_model_cid(market: Market, project: int, round_: int) -> str:
    """The global model round ``round_`` trains from (last finalized earlier round, else initial).

    Computed from chain state alone so that a verifier or auditor re-running an old round gets
    the same answer the trainers got while the round was open.
    """
    for earlier in range(round_ - 1, 0, -1):
        info = market.round(project, earlier)
        if info.status == RoundStatus.FINALIZED:
            return info.model_cid
    return market.project(project).params.initial_weights_cid


def load_spec(store: ContentStore, cid: str) -> ModelSpec:
    """Fetch (hash-checked by the store) and parse a project's model spec.

    A LoRA spec's base weights are fetched too (once per base CID) and kept for every later
    use of the spec (:func:`fedmarket.lora.base_weights`): no role can run its model without.
    So is a posted tokenizer (:mod:`fedmarket.posted_tokenizer`), checked against the arch's
    vocabulary: a spec naming a missing or unfit tokenizer is refused by every role alike.
    """
    try:
        spec = ModelSpec.from_json(store.get(cid))
    except StorageError as exc:
        raise StorageError(f"cannot fetch the project's model spec {cid}: {exc}") from exc
    if spec.lora is not None:
        load_lora_base(store, spec)
    if isinstance(spec.tokenizer, PostedTokenizer):
        from fedmarket.posted_tokenizer import load_posted_tokenizer  # needs `tokenizers`

        load_posted_tokenizer(store, spec)
    return spec


def load_lora_base(store: ContentStore, spec: ModelSpec) -> None:
    """Fetch, check and register a LoRA spec's base weights unless already registered."""
    from fedmarket.codec_stream import load_file  # torch-heavy; plain specs never need it
    from fedmarket.lora import base_weights, register_base

    assert spec.lora is not None
    cid = spec.lora.base_weights_cid
    try:
        base_weights(spec)
        return
    except ConfigError:
        pass  # not registered yet
    try:
        weights, _ = load_file(store, cid, "model", spec.base_shapes())
    except StorageError as exc:
        raise StorageError(f"cannot fetch the LoRA base weights {cid}: "
                           f"{str(exc).splitlines()[0]}") from exc
    except CodecError as exc:
        raise ConfigError(f"the LoRA base weights {cid} do not fit the spec's {spec.model} "
                          f"arch: {str(exc).splitlines()[0]}") from exc
    register_base(spec, weights)


def keep_round_moving(market: Market, project: int, round_info: RoundInfo,
                      note: Callable[[str], None] | None = None) -> str | None:
    """Close the round if its deadline passed or its verify window ended; name what was done.

    Returns None when there was nothing to do or someone else did it first. ``note`` (a role's
    reporter) hears how a round that paid nothing was closed, with its reason in words.
    """
    if round_info.phase != RoundPhase.EXPIRED:
        return None
    try:
        if round_info.status == RoundStatus.POSTED and round_info.agrees > 0:
            try:
                market.finalize(project)
                return "finalize"
            except ContractRevert:
                pass  # not finalizable (no quorum): the deadline path decides instead
        receipt = market.advance(project)
    except ContractRevert:
        return None  # another party closed the round between our read and our call
    if note is not None:
        from fedmarket.refunds import closure_in_receipt  # refunds imports chain types only

        closure = closure_in_receipt(market, receipt)
        if closure is not None:
            note(f"project {project} round {closure.round} {closure.reason.replace('_', ' ')}: "
                 f"nothing paid; {closure.sentence}")
    return "advance"
