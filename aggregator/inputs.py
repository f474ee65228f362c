"""Gather a round's inputs from chain and storage: revealed CIDs → checked, stacked updates.

Shared by the aggregator (to compute) and the verifier (to re-execute), so both see exactly
the same rows in the same order. Every fetch is hash-checked by the store; an update that is
missing, malformed, made for another project/round/trainer or of the wrong shape does not stop
the round — it becomes an upstream rejection with the reason, and a zero row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from aggregator.round import RoundInputs, canonical_order
from aggregator.trigger_scan import flagged_trainers
from aggregator.validation import Verdict, update_digest
from fedmarket.chain.market import Market
from fedmarket.chain.types import RoundStatus
from fedmarket.codec import UpdateHeader, flatten
from fedmarket.codec_stream import load_file, read_into
from fedmarket.datasets import Dataset
from fedmarket.errors import CodecError, DataError, StorageError
from fedmarket.modelspec import ModelSpec
from fedmarket.protocol import base_model_cid
from fedmarket.round_result import RoundResult
from fedmarket.storage.base import ContentStore

__all__ = ["GatheredRound", "gather_round", "load_validation"]


@dataclass(frozen=True)
class GatheredRound:
    """A round's inputs plus the base model they are deltas of."""

    inputs: RoundInputs
    base_weights: dict[str, torch.Tensor]


def gather_round(market: Market, store: ContentStore, spec: ModelSpec, project: int,
                 round_: int, from_block: int = 0) -> GatheredRound:
    """Fetch, check and stack every revealed update of the round (canonical address order)."""
    reveals = market.revealed_updates(project, round_, from_block=from_block)
    order = canonical_order([r.trainer for r in reveals])
    reveals = [reveals[i] for i in order]
    base_cid = base_model_cid(market, project, round_)
    base_weights, _ = load_file(store, base_cid, "model", spec)
    dim = spec.num_params()
    earlier_trainers, earlier_rows = _earlier_updates(market, store, spec, project, round_,
                                                      from_block)
    rows = torch.zeros((len(reveals), dim), dtype=torch.float32)
    samples: list[int] = []
    prior: list[Verdict | None] = []
    for i, reveal in enumerate(reveals):
        try:  # straight into its row of the stack: no other copy of the update is made
            header = _read_update(store, reveal.cid, rows[i], spec)
        except (StorageError, CodecError) as exc:
            rows[i].zero_()  # whatever was read before the failure
            prior.append(Verdict.reject(f"invalid_update: {_one_line(exc)}"))
            samples.append(0)
            continue
        mismatch = _header_mismatch(header.project, header.round, header.trainer, project,
                                    round_, reveal.trainer)
        if mismatch:
            rows[i].zero_()
            prior.append(Verdict.reject(f"invalid_update: {mismatch}"))
            samples.append(0)
            continue
        samples.append(int(header.samples))
        prior.append(None)
    inputs = RoundInputs(
        project=project, round=round_, trainers=[r.trainer for r in reveals],
        update_cids=[r.cid for r in reveals], samples=samples, updates=rows,
        base_model_cid=base_cid, pool=market.round(project, round_).trainer_pool_wei,
        global_model=flatten(base_weights), prior_verdicts=prior,
        earlier_digests=frozenset(update_digest(row) for row in earlier_rows),
        earlier_updates=earlier_rows if round_ > 1 else None,
        earlier_trainers=earlier_trainers,
        flagged=_flagged(market, store, spec, project, round_))
    return GatheredRound(inputs, base_weights)


def _flagged(market: Market, store: ContentStore, spec: ModelSpec, project: int,
             round_: int) -> frozenset[str]:
    """Trainers the trigger scan rejected in an earlier *finalized* round (scan on only).

    Only finalized rounds count: their results were re-executed and agreed by the committee,
    so a flag is a verified one. A finalized round's result missing from the store is an error
    (both the aggregator and the verifiers need it to agree).
    """
    if not spec.aggregation.params.get("shortcut_bar"):
        return frozenset()
    results = []
    for earlier in range(1, round_):
        info = market.round(project, earlier)
        if info.status == RoundStatus.FINALIZED and info.result_cid:
            results.append(RoundResult.from_bytes(store.get(info.result_cid)))
    return flagged_trainers(results)


def _earlier_updates(market: Market, store: ContentStore, spec: ModelSpec, project: int,
                     round_: int, from_block: int) -> tuple[list[str], torch.Tensor]:
    """The previous round's revealed updates (trainers, rows), to catch replays of them.

    Commit–reveal stops a copycat from copying an update of the same round; what it can still
    do is resubmit one revealed earlier, which is worth something while the global model has
    barely moved (exact copies by digest, noisy ones by cosine: :mod:`aggregator.replay`).
    One round back keeps the cost at one extra fetch per trainer. Updates that do not decode
    are left out (they were rejected in their round and carry nothing to copy).
    """
    reveals = (market.revealed_updates(project, round_ - 1, from_block=from_block)
               if round_ > 1 else [])
    stacked = torch.zeros((len(reveals), spec.num_params()), dtype=torch.float32)
    trainers: list[str] = []
    kept = 0
    for reveal in reveals:
        try:
            _read_update(store, reveal.cid, stacked[kept], spec)
        except (StorageError, CodecError):
            continue
        trainers.append(reveal.trainer)
        kept += 1
    return trainers, stacked[:kept]


def _read_update(store: ContentStore, cid: str, row: torch.Tensor,
                 spec: ModelSpec) -> UpdateHeader:
    """Stream update ``cid`` into ``row``; raises StorageError or CodecError."""
    with store.open(cid) as stream:
        header = read_into(stream, "update", row, spec)
    assert isinstance(header, UpdateHeader)
    return header


def _header_mismatch(h_project: int, h_round: int, h_trainer: str, project: int, round_: int,
                     trainer: str) -> str | None:
    if h_project != project or h_round != round_:
        return f"header is for project {h_project} round {h_round}"
    if h_trainer.lower() != trainer.lower():
        return f"header names trainer {h_trainer}, revealed by {trainer}"
    return None


def _one_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def load_validation(store: ContentStore, spec: ModelSpec) -> Dataset | None:
    """The owner's validation set named by ``spec.scoring.params['validation_cid']``, if any.

    Stored as an ``.npz`` of ``x``/``y`` (no pickles) so that verifiers fetch the very same
    samples by CID and re-score identically.
    """
    cid = spec.scoring.params.get("validation_cid")
    if not cid:
        return None
    data = store.get(str(cid))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            x = np.asarray(archive["x"], dtype=np.float32)
            y = np.asarray(archive["y"], dtype=np.int64)
    except (KeyError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"validation set {cid} is not an npz of x/y arrays: {exc}") from exc
    return Dataset(x, y, f"validation:{cid}")
