"""The Gram matrix of the updates and the pairwise squared distances built from it.

``d(i, j) = G[i, i] + G[j, j] - 2 G[i, j]`` with ``G = X X^T`` in float64; relative error of a
distance is about ``1e-6 * (|x_i|^2 + |x_j|^2) / d(i, j)``, far below what separates honest from
poisoned updates, and results are clamped at zero.

Two paths give ``G``:

* float32, C-contiguous updates of up to :data:`KERNEL_MAX_ROWS` rows (what the aggregator
  stacks for a round): the compiled kernel of :mod:`.gram_kernel`, on fixed spans of columns
  run on the worker threads (one per torch thread). Each span's float64 partial is computed on
  its own and the partials are added in span order, so the result does not depend on the
  threads. The kernel does about half the multiply-adds of a GEMM; at N = 50, D = 1M it takes
  22 ms where torch's GEMM takes 36 ms (``bench/aggregation.py``).
* anything else (float64, strided views, many rows): one BLAS call per column chunk of
  :mod:`.chunks`.

On either path a span or chunk whose squared row norms leave ``[SAFE_LOW, SAFE_HIGH]`` (huge,
tiny or all-zero rows) is redone in float64, so no finite input overflows or loses its small
terms; a non-finite input gives a non-finite Gram matrix, reported by
:func:`pairwise_sq_distances`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from fedmarket.errors import AggregationError

from .chunks import kernel_input, map_chunks, on_threads

__all__ = [
    "SAFE_LOW",
    "SAFE_HIGH",
    "needs_float64",
    "in_safe_range",
    "gram_matrix",
    "pairwise_sq_distances",
    "blas_gram",
    "piece_width",
]

#: Squared row norms of a chunk within which float32 sums of squares neither overflow nor lose
#: terms to underflow (relative loss below about 1e-8 for chunks of a million elements).
SAFE_LOW, SAFE_HIGH = 1e-24, 1e36

#: Most rows for the kernel: past about 90 rows a BLAS GEMM's larger tiles win (measured on a
#: 2-core AVX-512 Xeon: kernel 6.0 ms vs GEMM 7.2 ms at 80 rows, 7.9 vs 7.8 ms at 96, 10M floats).
KERNEL_MAX_ROWS = 80

#: Most spans of columns (each has its own float64 partial, threads share out whole spans).
MAX_SPANS = 64

#: Bound on the memory of the spans' float64 partials (fewer spans for very many rows).
PARTIALS_BYTES = 32 << 20

#: Bytes of one piece (all N rows) meant to stay in the per-core cache while tiles reuse it.
PIECE_BYTES = 256 * 1024


def piece_width(n_rows: int) -> int:
    """Return the column width of a float32 piece: a multiple of 16 from 64 to 1024.

    Depends on ``n_rows`` only, so a Gram matrix is reproducible whatever the threads.
    """
    width = PIECE_BYTES // (4 * max(1, n_rows))
    return max(64, min(1024, width - width % 16))


def in_safe_range(sq_norms: torch.Tensor | np.ndarray) -> bool:
    """Tell whether all squared row norms of a chunk lie in ``[SAFE_LOW, SAFE_HIGH]``."""
    return bool(((sq_norms >= SAFE_LOW) & (sq_norms <= SAFE_HIGH)).all())


def needs_float64(block: torch.Tensor, sq_norms: torch.Tensor) -> bool:
    """Tell whether a float32 chunk's products left the safe range (see the module notes)."""
    return block.dtype != torch.float64 and not in_safe_range(sq_norms)


def _span_bounds(n_rows: int, dim: int) -> np.ndarray:
    """Return the span boundaries ``[0, ..., dim]``: whole pieces, at most MAX_SPANS spans.

    They depend on the shape only, so the float64 partials (and their sum) never depend on the
    threads; the partials' memory is bounded by PARTIALS_BYTES.
    """
    piece = piece_width(n_rows)
    count = min(MAX_SPANS, max(1, PARTIALS_BYTES // (8 * n_rows * n_rows)), math.ceil(dim / piece))
    width = math.ceil(math.ceil(dim / count) / piece) * piece
    return np.array([*range(0, dim, width), dim], dtype=np.int64)


def _kernel_gram(updates: torch.Tensor) -> torch.Tensor:
    """Gram matrix of float32 C-contiguous ``updates`` through the compiled kernel."""
    from .gram_kernel import span_grams  # numba loads on first use, not with every CLI command

    x = updates.detach().numpy()
    n, dim = x.shape
    bounds = _span_bounds(n, dim)
    spans = len(bounds) - 1
    parts = np.zeros((spans, n, n))
    width = piece_width(n)
    on_threads(lambda lo, hi: span_grams(x, bounds, lo, hi, width, parts), spans)
    for s in range(spans):
        if not in_safe_range(np.diagonal(parts[s])):  # see the module notes
            block = updates[:, int(bounds[s]) : int(bounds[s + 1])].double()
            parts[s] = (block @ block.T).numpy()
    upper = np.triu(parts.sum(axis=0))  # in span order, whatever the threads
    return torch.from_numpy(upper + np.triu(upper, 1).T)


def blas_gram(updates: torch.Tensor) -> torch.Tensor:
    """Gram matrix through one BLAS call per column chunk, accumulated in float64."""
    n, dim = updates.shape

    def block_gram(cols: slice) -> torch.Tensor:
        block = updates[:, cols]
        gram = block @ block.T
        if needs_float64(block, gram.diagonal()):
            wide = block.double()
            return wide @ wide.T
        return gram

    gram = torch.zeros(n, n, dtype=torch.float64)
    for part in map_chunks(block_gram, n, dim):
        gram += part
    return gram


def gram_matrix(updates: torch.Tensor) -> torch.Tensor:
    """Return the float64 Gram matrix ``X X^T`` of ``updates`` ``[N, D]``."""
    fast = kernel_input(updates) and updates.shape[0] <= KERNEL_MAX_ROWS
    return _kernel_gram(updates) if fast else blas_gram(updates)


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

