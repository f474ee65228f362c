"""Bulyan's window kernel: the mean of the beta values nearest the median, to the last bit."""

import numpy as np
import pytest

from aggregator.rules.bulyan import closest_to_median_mean


def sequential_definition(row: np.ndarray, beta: int) -> float:
    """Nearest by (distance, position) in the sorted row, then added in ascending order."""
    values = row.astype(np.float64)
    theta = len(values)
    med = values[theta // 2] if theta % 2 else (values[theta // 2 - 1] + values[theta // 2]) / 2
    nearest = sorted(np.argsort(np.abs(values - med), kind="stable")[:beta])
    total = 0.0
    for i in nearest:
        total += values[i]
    return total / beta


@pytest.mark.parametrize("theta", [2, 3, 8, 9, 28, 41])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_window_mean_is_bit_identical_to_the_definition(theta, dtype):
    rng = np.random.default_rng(theta)
    ordered = np.sort(rng.standard_normal((300, theta)).astype(dtype), axis=1)
    ordered[:100] = np.round(ordered[:100] * 2) / 2  # ties in value and in distance
    for beta in range(1, theta):
        got = closest_to_median_mean(ordered, beta)
        want = np.array([sequential_definition(row, beta) for row in ordered])
        assert np.array_equal(got, want), beta
