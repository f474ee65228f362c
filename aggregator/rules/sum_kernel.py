"""A compiled kernel for a weighted sum of chosen rows in one pass over them, in float64.

FedAvg, Multi-Krum and norm bounding end in ``sum_k c_k x_{r_k}`` over the accepted rows. As
torch GEMVs (float32 per row group, groups added in float64) that took about two passes over
the data; this kernel reads each chosen row once, block by block of columns, into a float64
accumulator that stays in the L1 cache (four rows per sweep of it), and never reads the rows
left out.

No fast-math: every output element is the same sequence of IEEE float64 multiplies and adds,
in row order, whatever the vector width, so the result is the same bit for bit on any x86 or
ARM CPU and for any split of the columns between threads.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["BLOCK", "weighted_rows_sum"]

#: Columns per accumulator block: 32 KiB of float64, within the L1 data cache.
BLOCK = 4096


@numba.njit(nogil=True, boundscheck=False, cache=True)
def weighted_rows_sum(
    x: np.ndarray, rows: np.ndarray, coef: np.ndarray, start: int, stop: int, out: np.ndarray
) -> None:
    """Write ``sum_k coef[k] * x[rows[k], c]`` to ``out[c]`` for ``c`` in ``[start, stop)``.

    ``x`` is float32 ``[N, D]``, ``rows`` int64 ``[K]``, ``coef`` float64 ``[K]``, ``out``
    float32 ``[D]`` (the float64 sum is rounded once). Runs without the GIL.
    """
    acc = np.empty(BLOCK, dtype=np.float64)
    count = rows.shape[0]
    for lo in range(start, stop, BLOCK):
        hi = min(lo + BLOCK, stop)
        for c in range(hi - lo):
            acc[c] = 0.0
        k = 0
        while k + 4 <= count:  # four rows per sweep of the accumulator, added in row order
            w0, w1, w2, w3 = coef[k], coef[k + 1], coef[k + 2], coef[k + 3]
            r0, r1 = x[rows[k], lo:hi], x[rows[k + 1], lo:hi]
            r2, r3 = x[rows[k + 2], lo:hi], x[rows[k + 3], lo:hi]
            for c in range(hi - lo):
                total = acc[c] + w0 * np.float64(r0[c])
                total += w1 * np.float64(r1[c])
                total += w2 * np.float64(r2[c])
                acc[c] = total + w3 * np.float64(r3[c])
            k += 4
        while k < count:
            weight, row = coef[k], x[rows[k], lo:hi]
            for c in range(hi - lo):
                acc[c] += weight * np.float64(row[c])
            k += 1
        for c in range(hi - lo):
            out[lo + c] = acc[c]
