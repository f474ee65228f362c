"""Tensor-level checks of a round's updates before any rule sees them.

An update (a row of the stacked ``[N, D]`` deltas) is rejected, with the reason recorded in the
round result, when it is:

* ``non_finite``: it holds NaN or infinity;
* ``zero_update``: every entry is zero, i.e. the trainer sent back the global model unchanged
  (free-riding);
* ``copy_of_global_model``: it equals the global model's parameters (the model uploaded in place
  of a delta);
* ``duplicate_update``: it is bit-identical to another trainer's update. Commit-reveal means
  nobody can copy a revealed update in time, so identical updates mean collusion or a Sybil; all
  copies are rejected (no one can tell which was first).

Rows already rejected upstream (CID or codec checks) keep their verdict and are not inspected.
Exact comparisons use SHA-256 of each row's bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import torch

from fedmarket.errors import AggregationError

__all__ = ["Verdict", "ACCEPTED", "validate_updates", "update_digest"]


@dataclass(frozen=True)
class Verdict:
    """Whether a trainer's update is accepted, and if not, why."""

    accepted: bool
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.accepted == (self.reason is not None):
            raise ValueError("an accepted verdict has no reason; a rejected one needs one")

    @classmethod
    def reject(cls, reason: str) -> Verdict:
        """Return a rejection with ``reason``."""
        return cls(False, reason)


ACCEPTED = Verdict(True)


def _digest(row: torch.Tensor) -> bytes:
    return hashlib.sha256(row.contiguous().numpy().tobytes()).digest()


def update_digest(row: torch.Tensor) -> bytes:
    """Digest of one flattened float32 update, as the duplicate and replay checks compare."""
    return _digest(row.to(torch.float32))


def validate_updates(
    updates: torch.Tensor,
    global_model: torch.Tensor | None = None,
    prior: Sequence[Verdict | None] | None = None,
    earlier: Collection[bytes] = (),
) -> list[Verdict]:
    """Return one verdict per row of ``updates`` ``[N, D]``.

    ``global_model`` ``[D]`` (flattened parameters) enables the copied-model check; ``prior``
    holds upstream verdicts (``None`` = not judged yet); ``earlier`` holds :func:`update_digest`
    of updates revealed in the previous round — commit–reveal stops copying within a round, so
    a copycat's remaining move is to replay an update revealed before.
    """
    if updates.ndim != 2:
        raise AggregationError("updates must be a 2-D tensor [N, D]")
    n, dim = updates.shape
    if prior is not None and len(prior) != n:
        raise AggregationError(f"prior verdicts must number N={n}, got {len(prior)}")
    if global_model is not None and global_model.shape != (dim,):
        raise AggregationError(f"global_model must have shape [{dim}]")
    verdicts: list[Verdict | None] = list(prior) if prior is not None else [None] * n
    global_digest = _digest(global_model.to(updates.dtype)) if global_model is not None else None
    digests: dict[bytes, list[int]] = {}
    for i in range(n):
        if verdicts[i] is not None:
            continue
        row = updates[i]
        if not bool(torch.isfinite(row).all()):
            verdicts[i] = Verdict.reject("non_finite")
            continue
        if not bool(row.any()):
            verdicts[i] = Verdict.reject("zero_update")
            continue
        digest = _digest(row)
        if digest == global_digest:
            verdicts[i] = Verdict.reject("copy_of_global_model")
            continue
        if digest in earlier:
            verdicts[i] = Verdict.reject("replayed_update")
            continue
        digests.setdefault(digest, []).append(i)
    for group in digests.values():
        if len(group) > 1:
            for i in group:
                verdicts[i] = Verdict.reject("duplicate_update")
    return [v if v is not None else ACCEPTED for v in verdicts]
