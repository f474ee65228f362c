"""A compiled kernel for the Gram matrix of float32 updates: half the work of a BLAS GEMM.

Krum, Multi-Krum and Bulyan need every pairwise distance, i.e. the Gram matrix ``X X^T`` of the
``[N, D]`` updates. A BLAS GEMM computes all ``N^2`` dot products, with its micro-kernel padding
``N`` up to its register tile, and it is the whole cost of those rules (N = 50, D = 1M: 2.5e9
multiply-adds). This kernel computes only the tiles on and above the diagonal (``N^2 / 2`` plus
the diagonal tiles), four rows by four rows so that every loaded value feeds four FMAs, over
column pieces small enough to stay in the core's cache while a row tile is reused.

Numerics and reproducibility: each tile's dot products are float32 over one piece of
:func:`~.gram.piece_width` columns (vector lanes, reassociated by the compiler), and the pieces are
added in float64 in column order. The piece width depends on ``N`` only, and every span of
columns handed to a thread is summed on its own, so the result is the same bit for bit on every
run, whatever the thread count or scheduling (on a given CPU: the compiled code follows the
machine's vector width, as a BLAS does).

The kernel is compiled with numba on first use and cached on disk next to this file.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["span_grams"]


@numba.njit(fastmath=True, nogil=True, boundscheck=False, error_model="numpy", cache=True)
def _add_upper_gram(x: np.ndarray, start: int, stop: int, width: int, out: np.ndarray) -> None:
    """Add the Gram matrix of columns ``[start, stop)`` of ``x`` to ``out``, upper tiles only.

    ``x`` is float32 ``[N, D]`` C-contiguous, ``out`` float64 ``[N, N]``. Entries ``(i, j)``
    are written for every row tile pair ``tile(i) <= tile(j)``; entries below the diagonal
    outside the diagonal tiles are left untouched (the caller mirrors the upper triangle).
    """
    n = x.shape[0]
    last = n - 1
    for lo in range(start, stop, width):
        hi = min(lo + width, stop)
        for ti in range(0, n, 4):
            a0 = x[ti, lo:hi]
            a1 = x[min(ti + 1, last), lo:hi]
            a2 = x[min(ti + 2, last), lo:hi]
            a3 = x[min(ti + 3, last), lo:hi]
            for tj in range(ti, n, 4):
                b0 = x[tj, lo:hi]
                b1 = x[min(tj + 1, last), lo:hi]
                b2 = x[min(tj + 2, last), lo:hi]
                b3 = x[min(tj + 3, last), lo:hi]
                s00 = s01 = s02 = s03 = np.float32(0.0)
                s10 = s11 = s12 = s13 = np.float32(0.0)
                s20 = s21 = s22 = s23 = np.float32(0.0)
                s30 = s31 = s32 = s33 = np.float32(0.0)
                for k in range(hi - lo):
                    p0, p1, p2, p3 = a0[k], a1[k], a2[k], a3[k]
                    q0, q1, q2, q3 = b0[k], b1[k], b2[k], b3[k]
                    s00 += p0 * q0
                    s01 += p0 * q1
                    s02 += p0 * q2
                    s03 += p0 * q3
                    s10 += p1 * q0
                    s11 += p1 * q1
                    s12 += p1 * q2
                    s13 += p1 * q3
                    s20 += p2 * q0
                    s21 += p2 * q1
                    s22 += p2 * q2
                    s23 += p2 * q3
                    s30 += p3 * q0
                    s31 += p3 * q1
                    s32 += p3 * q2
                    s33 += p3 * q3
                sums = (
                    (s00, s01, s02, s03),
                    (s10, s11, s12, s13),
                    (s20, s21, s22, s23),
                    (s30, s31, s32, s33),
                )
                for r in range(min(4, n - ti)):
                    for c in range(min(4, n - tj)):
                        out[ti + r, tj + c] += sums[r][c]


@numba.njit(nogil=True, cache=True)
def span_grams(x: np.ndarray, bounds: np.ndarray, first: int, last: int, width: int,
               out: np.ndarray) -> None:
    """Write the upper-tile Gram matrix of each span ``s`` in ``[first, last)`` to ``out[s]``.

    Span ``s`` is columns ``[bounds[s], bounds[s + 1])``; ``out`` is float64 ``[S, N, N]``,
    zeroed by the caller. One call per thread, without the GIL: each span's partial depends on
    the span alone, so how spans are shared between threads does not change any bit.
    """
    for s in range(first, last):
        _add_upper_gram(x, bounds[s], bounds[s + 1], width, out[s])
