"""Shared tensor math for the rules: chunked pairwise distances, weighted means, row norms.

Every helper walks the update matrix ``[N, D]`` in column chunks (:mod:`.chunks`), on the worker
threads, so that the extra memory stays bounded whatever ``D`` is.

Numerics: each chunk's products are one BLAS call (or one reduction) in the input precision, whose
inner sums are short (a chunk's width, or at most :data:`ROW_GROUP` rows); partial results are
accumulated across chunks and row groups in float64, in chunk order, so error does not grow with
``D`` or ``N`` and the result is the same on every run. That keeps the rules bound by memory
bandwidth rather than by float64 conversion.

Float32 squares overflow for values above about 1e18 and underflow below about 1e-19; a chunk
whose squared row norms leave ``[SAFE_LOW, SAFE_HIGH]`` (huge, tiny or all-zero rows) is redone
in float64, so no finite input fails or loses its small terms. A weighted mean of float32
C-contiguous updates is the one-pass float64 kernel of :mod:`.sum_kernel` (one rounding per
coordinate of the result); of anything else, a float32 GEMV per chunk and row group (a few
roundings). The Gram matrix and pairwise distances live in :mod:`.gram` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from fedmarket.errors import AggregationError

from .chunks import CHUNK_ELEMENTS, column_chunks, kernel_input, map_chunks, on_threads
from .gram import SAFE_HIGH, SAFE_LOW, gram_matrix, needs_float64, pairwise_sq_distances

__all__ = [
    "CHUNK_ELEMENTS",
    "ROW_GROUP",
    "check_updates",
    "check_finite",
    "column_chunks",
    "gram_matrix",
    "pairwise_sq_distances",
    "SAFE_LOW",
    "SAFE_HIGH",
    "chunk_sq_norms",
    "weighted_rows",
    "weighted_mean",
    "weighted_sum",
    "row_sq_norms",
    "row_dots",
]

#: Rows summed in the input precision before the partial sum is carried on in float64.
ROW_GROUP = 64


def chunk_sq_norms(block: torch.Tensor) -> torch.Tensor:
    """Return the float64 squared norm of each row of one chunk ``[m, C]``."""
    sq = torch.linalg.vector_norm(block, dim=1).double().square()
    if needs_float64(block, sq):
        sq = torch.linalg.vector_norm(block, dim=1, dtype=torch.float64).square()
    return sq


def check_updates(updates: torch.Tensor, weights: torch.Tensor | None = None) -> None:
    """Check the shapes every rule expects: updates ``[N, D]`` floating, weights ``[N]``.

    Weights must be finite and non-negative with a positive sum (they are sample counts).
    """
    if not isinstance(updates, torch.Tensor) or updates.ndim != 2:
        raise AggregationError("updates must be a 2-D tensor [N, D]")
    if not updates.is_floating_point():
        raise AggregationError(f"updates must be floating point, got {updates.dtype}")
    n, d = updates.shape
    if n < 1 or d < 1:
        raise AggregationError(f"updates must be non-empty, got shape {tuple(updates.shape)}")
    if weights is None:
        return
    if not isinstance(weights, torch.Tensor) or weights.ndim != 1 or weights.shape[0] != n:
        shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights)
        raise AggregationError(f"weights must have shape [N] = [{n}], got {shape}")
    w = weights.double()
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise AggregationError("weights must be finite and >= 0")
    if float(w.sum()) <= 0:
        raise AggregationError("weights must have a positive sum")


def check_finite(updates: torch.Tensor) -> None:
    """Raise if any update holds NaN or infinity (validation should have rejected it)."""
    n, dim = updates.shape
    finite = map_chunks(lambda cols: bool(torch.isfinite(updates[:, cols]).all()), n, dim)
    if not all(list(finite)):
        raise AggregationError("updates must be finite (non-finite values found)")


def weighted_rows(block: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """Return ``coef @ block`` for ``block`` ``[m, C]`` and float64 ``coef`` ``[m]``.

    Products and sums within a group of :data:`ROW_GROUP` rows are in the block's precision,
    the groups are added in float64 (the single-group result keeps the block's dtype).
    """
    if block.dtype == torch.float64:
        return coef @ block
    total: torch.Tensor | None = None
    for start in range(0, block.shape[0], ROW_GROUP):
        rows = slice(start, start + ROW_GROUP)
        part = coef[rows].to(block.dtype) @ block[rows]
        total = part if total is None else total.double() + part
    assert total is not None
    if not bool(torch.isfinite(total).all()):  # overflow near the float32 limit, or NaN input
        return coef @ block.double()
    return total


def weighted_mean(
    updates: torch.Tensor, weights: torch.Tensor, rows: Sequence[int] | None = None
) -> torch.Tensor:
    """Return ``sum_i w_i x_i / sum_i w_i`` over ``rows`` (all rows if None).

    The result has the dtype of ``updates``; see :func:`weighted_rows` for the precision.
    """
    idx = list(range(updates.shape[0])) if rows is None else list(rows)
    if not idx:
        raise AggregationError("weighted mean of an empty set of updates")
    w = weights.double()[idx]
    total = float(w.sum())
    if total <= 0:
        raise AggregationError("weights of the averaged updates must have a positive sum")
    return weighted_sum(updates, w / total, idx)


def weighted_sum(
    updates: torch.Tensor, coef: torch.Tensor, rows: Sequence[int] | None = None
) -> torch.Tensor:
    """Return ``sum_k coef[k] x_rows[k]`` (``rows`` all rows if None), in ``updates``' dtype.

    ``coef`` is float64, one per summed row. Float32 C-contiguous updates go through the
    one-pass float64 kernel of :mod:`.sum_kernel`; others through :func:`weighted_rows`.
    """
    n, dim = updates.shape
    idx = list(range(n)) if rows is None else list(rows)
    if kernel_input(updates):
        return _kernel_weighted_sum(updates, coef, idx)
    source, full_coef = updates, coef
    if idx == list(range(idx[0], idx[0] + len(idx))):
        source = updates[idx[0] : idx[0] + len(idx)]
    else:  # zero coefficients for the rows left out: one GEMV, no gathered copy of the rows
        full_coef = torch.zeros(n, dtype=torch.float64)
        full_coef[idx] = coef
    index = torch.tensor(idx)
    out = torch.empty(dim, dtype=updates.dtype)

    def sum_chunk(cols: slice) -> None:
        total = weighted_rows(source[:, cols], full_coef)
        if not bool(torch.isfinite(total).all()):  # a non-finite row, maybe one left out
            total = weighted_rows(updates[:, cols].index_select(0, index), coef)
        out[cols] = total

    for _ in map_chunks(sum_chunk, source.shape[0], dim):
        pass
    return out


def _kernel_weighted_sum(updates: torch.Tensor, coef: torch.Tensor, idx: list[int]) -> torch.Tensor:
    """:func:`weighted_sum` through the compiled kernel, columns split in whole blocks."""
    from .sum_kernel import BLOCK, weighted_rows_sum  # numba loads on first use

    x = updates.detach().numpy()
    dim = x.shape[1]
    rows = np.asarray(idx, dtype=np.int64)
    weights = np.ascontiguousarray(coef.detach().double().numpy())
    out = np.empty(dim, dtype=np.float32)
    on_threads(lambda lo, hi: weighted_rows_sum(x, rows, weights, lo, hi, out), dim, unit=BLOCK)
    return torch.from_numpy(out)


def row_sq_norms(updates: torch.Tensor) -> torch.Tensor:
    """Return the float64 squared Euclidean norm of each row ``[N]``."""
    n, dim = updates.shape
    out = torch.zeros(n, dtype=torch.float64)
    for part in map_chunks(lambda cols: chunk_sq_norms(updates[:, cols]), n, dim):
        out += part
    return out


def row_dots(updates: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """Return the float64 dot product of each row with ``vector`` ``[D]``."""
    n, dim = updates.shape
    if vector.shape != (dim,):
        raise AggregationError(f"vector must have shape [{dim}], got {tuple(vector.shape)}")
    target = vector.to(updates.dtype)

    def dots_chunk(cols: slice) -> torch.Tensor:
        dots = updates[:, cols] @ target[cols]
        if not bool(torch.isfinite(dots).all()):  # float32 overflow: redo in float64
            return updates[:, cols].double() @ vector[cols].double()
        return dots.double()

    out = torch.zeros(n, dtype=torch.float64)
    for part in map_chunks(dots_chunk, n, dim):
        out += part
    return out
