"""A compiled kernel for one centered-clipping pass: move the centre, then measure distances to it.

Each pass of :mod:`.centered_clip` moves the centre by ``sum_i c_i (x_i - v)`` and takes every
``||x_i - v||^2`` to the new centre. As torch ops that meant a float64 copy of every chunk, a
GEMV and a norm; here a block of columns is read while it is in cache, once to move the centre
and once to measure, all in float64 with no fast-math, and never copied.

Order of the arithmetic is fixed in the code: the step adds rows in row order; a distance is
summed per block in 8 interleaved partial sums (column ``c`` into partial ``c mod 8``, combined
pairwise at the block's end), blocks in column order within a span, spans in order by the
caller. So the result is the same on any CPU and for any split of the spans between threads.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["BLOCK", "clip_spans"]

#: Columns per block: N rows of it stay in the L2 cache between the two sweeps.
BLOCK = 2048


@numba.njit(nogil=True, boundscheck=False, error_model="numpy", cache=True)
def _sq_distance(row: np.ndarray, center: np.ndarray) -> float:
    """``sum_c (row[c] - center[c])^2`` in float64, in 8 interleaved partial sums."""
    width = row.shape[0]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    full = width - width % 8
    for c in range(0, full, 8):
        d0 = np.float64(row[c]) - center[c]
        d1 = np.float64(row[c + 1]) - center[c + 1]
        d2 = np.float64(row[c + 2]) - center[c + 2]
        d3 = np.float64(row[c + 3]) - center[c + 3]
        d4 = np.float64(row[c + 4]) - center[c + 4]
        d5 = np.float64(row[c + 5]) - center[c + 5]
        d6 = np.float64(row[c + 6]) - center[c + 6]
        d7 = np.float64(row[c + 7]) - center[c + 7]
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
        s4 += d4 * d4
        s5 += d5 * d5
        s6 += d6 * d6
        s7 += d7 * d7
    for c in range(full, width):
        d = np.float64(row[c]) - center[c]
        s0 += d * d
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@numba.njit(nogil=True, boundscheck=False, error_model="numpy", cache=True)
def clip_spans(
    x: np.ndarray,
    center: np.ndarray,
    coef: np.ndarray,
    move: bool,
    measure: bool,
    bounds: np.ndarray,
    first: int,
    last: int,
    sq: np.ndarray,
) -> None:
    """Run one pass over spans ``[first, last)`` (span ``s`` is ``[bounds[s], bounds[s + 1])``).

    ``x`` float32 ``[N, D]``; ``center`` float64 ``[D]``, moved in place by
    ``sum_i coef[i] * (x[i] - center)`` when ``move``; with ``measure``, ``sq[s, i]`` gets
    ``||x[i] - center||^2`` over span ``s`` (``sq`` float64 ``[S, N]``, zeroed by the caller).
    """
    n = x.shape[0]
    step = np.empty(BLOCK)
    for s in range(first, last):
        for lo in range(bounds[s], bounds[s + 1], BLOCK):
            hi = min(lo + BLOCK, bounds[s + 1])
            part = center[lo:hi]
            if move:
                for c in range(hi - lo):
                    step[c] = 0.0
                for i in range(n):
                    weight = coef[i]
                    row = x[i, lo:hi]
                    for c in range(hi - lo):
                        step[c] += weight * (np.float64(row[c]) - part[c])
                for c in range(hi - lo):
                    part[c] += step[c]
            if measure:
                for i in range(n):
                    sq[s, i] += _sq_distance(x[i, lo:hi], part)
