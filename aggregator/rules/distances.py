"""Shared tensor math for the rules: chunked pairwise distances, weighted means, row norms.

Every helper walks the update matrix ``[N, D]`` in column chunks so that the extra memory stays
bounded (about :data:`CHUNK_ELEMENTS` floats per temporary, whatever ``D`` is) and each chunk is
still hot in cache when it is reused.

Numerics: the pairwise squared distances come from the Gram matrix,
``d(i, j) = G[i, i] + G[j, j] - 2 G[i, j]``. Each chunk's Gram block is one BLAS call in the input
precision (float32 for models; its inner sums are short, a chunk at a time), and the blocks are
accumulated across chunks in float64, so error does not grow with ``D``. That keeps Krum
compute-bound on one GEMM rather than on float64 conversion; relative error of a distance is
about ``1e-6 * (|x_i|^2 + |x_j|^2) / d(i, j)``, far below what separates honest from poisoned
updates, and results are clamped at zero. Means and norms accumulate in float64.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from fedmarket.errors import AggregationError

__all__ = [
    "CHUNK_ELEMENTS",
    "check_updates",
    "check_finite",
    "column_chunks",
    "gram_matrix",
    "pairwise_sq_distances",
    "weighted_mean",
    "row_sq_norms",
    "row_dots",
]

#: Floats per temporary chunk (16 MiB of float32): large enough for BLAS efficiency, small
#: enough that a float64 copy of a chunk stays in the last-level cache.
CHUNK_ELEMENTS = 1 << 22


def column_chunks(n_rows: int, dim: int, budget: int | None = None) -> Iterator[slice]:
    """Yield column slices of ``[0, dim)`` holding about ``budget`` elements over ``n_rows``.

    ``budget`` defaults to :data:`CHUNK_ELEMENTS`.
    """
    width = max(256, (budget or CHUNK_ELEMENTS) // max(1, n_rows))
    for start in range(0, dim, width):
        yield slice(start, min(dim, start + width))


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
    for cols in column_chunks(updates.shape[0], updates.shape[1]):
        if not bool(torch.isfinite(updates[:, cols]).all()):
            raise AggregationError("updates must be finite (non-finite values found)")


def gram_matrix(updates: torch.Tensor) -> torch.Tensor:
    """Return the float64 Gram matrix ``X X^T`` of ``updates`` ``[N, D]``, chunked over D."""
    n = updates.shape[0]
    gram = torch.zeros(n, n, dtype=torch.float64)
    for cols in column_chunks(n, updates.shape[1]):
        block = updates[:, cols]
        gram += (block @ block.T).double()
    return gram


def pairwise_sq_distances(updates: torch.Tensor) -> torch.Tensor:
    """Return the ``[N, N]`` float64 matrix of squared Euclidean distances between rows.

    Raises :class:`AggregationError` when an update is not finite (its Gram entries are not).
    """
    gram = gram_matrix(updates)
    if not bool(torch.isfinite(gram).all()):
        raise AggregationError("updates must be finite (non-finite values found)")
    sq = gram.diagonal()
    dist = sq[:, None] + sq[None, :] - 2.0 * gram
    dist.clamp_(min=0.0)
    dist.fill_diagonal_(0.0)
    return dist


def weighted_mean(
    updates: torch.Tensor, weights: torch.Tensor, rows: Sequence[int] | None = None
) -> torch.Tensor:
    """Return ``sum_i w_i x_i / sum_i w_i`` over ``rows`` (all rows if None), float64 sums.

    The result has the dtype of ``updates``.
    """
    idx = list(range(updates.shape[0])) if rows is None else list(rows)
    if not idx:
        raise AggregationError("weighted mean of an empty set of updates")
    w = weights.double()[idx]
    total = float(w.sum())
    if total <= 0:
        raise AggregationError("weights of the averaged updates must have a positive sum")
    coef = w / total
    contiguous = idx == list(range(idx[0], idx[0] + len(idx)))
    out = torch.empty(updates.shape[1], dtype=updates.dtype)
    for cols in column_chunks(len(idx), updates.shape[1]):
        block = updates[idx[0] : idx[0] + len(idx), cols] if contiguous else updates[idx, cols]
        out[cols] = (coef @ block.double()).to(updates.dtype)
    return out


def row_sq_norms(updates: torch.Tensor) -> torch.Tensor:
    """Return the float64 squared Euclidean norm of each row ``[N]``."""
    out = torch.zeros(updates.shape[0], dtype=torch.float64)
    for cols in column_chunks(updates.shape[0], updates.shape[1]):
        block = updates[:, cols].double()
        out += (block * block).sum(dim=1)
    return out


def row_dots(updates: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """Return the float64 dot product of each row with ``vector`` ``[D]``."""
    if vector.shape != (updates.shape[1],):
        raise AggregationError(
            f"vector must have shape [{updates.shape[1]}], got {tuple(vector.shape)}"
        )
    out = torch.zeros(updates.shape[0], dtype=torch.float64)
    for cols in column_chunks(updates.shape[0], updates.shape[1]):
        out += updates[:, cols].double() @ vector[cols].double()
    return out
