"""Means of windows of each sorted coordinate, compiled: Bulyan's last step and the trimmed mean.

Per coordinate (one sorted row of ``[C, theta]``): find how many of the ``beta`` values nearest
the median lie left of the middle (the merge argument of :func:`~.bulyan.closest_to_median_mean`),
then add the window of ``beta`` sorted values in float64, in ascending order; one pass over the
sorted values, where whole-array numpy needed a band of candidates, their distances and a
gather. A test checks it bit for bit against the definition (sort by distance, add in order).
:func:`slice_means` is the trimmed mean's plain window (float64, in ascending order).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["window_means", "slice_means"]


@numba.njit(nogil=True, boundscheck=False, error_model="numpy", cache=True)
def window_means(ordered: np.ndarray, beta: int, out: np.ndarray) -> None:
    """Write each sorted row's mean of its ``beta`` values nearest its median to ``out``.

    ``ordered`` is ``[C, theta]`` with every row sorted, ``out`` float64 ``[C]``; ties go to the
    smaller value. Requires ``1 <= beta < theta``.
    """
    rows, theta = ordered.shape
    middle = (theta + 1) // 2
    lo = max(0, middle - beta)
    hi = min(theta, middle + beta)
    for r in range(rows):
        values = ordered[r]
        if theta % 2:
            med = np.float64(values[theta // 2])
        else:
            med = (np.float64(values[theta // 2 - 1]) + np.float64(values[theta // 2])) / 2
        k = 0
        for i in range(beta):
            left = middle - 1 - i
            right = middle + beta - 1 - i
            d_left = abs(np.float64(values[left]) - med) if lo <= left < hi else np.inf
            d_right = abs(np.float64(values[right]) - med) if lo <= right < hi else np.inf
            if d_left <= d_right:
                k += 1
        total = 0.0
        first = middle - k
        for i in range(beta):
            total += np.float64(values[first + i])
        out[r] = total / beta


@numba.njit(nogil=True, boundscheck=False, error_model="numpy", cache=True)
def slice_means(ordered: np.ndarray, first: int, count: int, out: np.ndarray) -> None:
    """Write each row's mean of ``ordered[r, first : first + count]`` to ``out`` (float64).

    The trimmed mean's step (and Bulyan's when it keeps every value): float64, added in order.
    """
    for r in range(ordered.shape[0]):
        total = 0.0
        for i in range(first, first + count):
            total += np.float64(ordered[r, i])
        out[r] = total / count
