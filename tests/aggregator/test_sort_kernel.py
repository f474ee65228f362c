"""The sorting-network kernel behind median, trimmed mean and Bulyan: numpy's order, always."""

import numpy as np
import pytest
import torch

from aggregator.rules.median import sorted_columns
from aggregator.rules.sort_kernel import LANES, network
from fedmarket.errors import AggregationError


def apply(n: int, values: list[int]) -> list[int]:
    low, high = network(n)
    out = list(values)
    for a, b in zip(low.tolist(), high.tolist(), strict=True):
        if out[a] > out[b]:
            out[a], out[b] = out[b], out[a]
    return out


@pytest.mark.parametrize("n", range(1, 13))
def test_network_sorts_every_zero_one_input(n):
    # the 0-1 principle: a comparator network that sorts all 2^n bit vectors sorts everything
    for bits in range(1 << n):
        values = [(bits >> i) & 1 for i in range(n)]
        assert apply(n, values) == sorted(values)


@pytest.mark.parametrize("n", [13, 17, 31, 33, 50, 64, 80])
def test_network_sorts_random_and_tied_inputs(n):
    rng = np.random.default_rng(n)
    for _ in range(300):
        values = rng.integers(-3, 4, size=n).tolist() if n % 2 else rng.permutation(n).tolist()
        assert apply(n, values) == sorted(values)
    low, high = network(n)
    assert (low < high).all() and (high < n).all()


@pytest.mark.parametrize("n", [1, 2, 5, 8, 11, 50])
@pytest.mark.parametrize("start,stop", [(0, 1), (0, LANES), (3, LANES + 5), (0, 3 * LANES + 17)])
def test_kernel_equals_numpy_sort(n, start, stop):
    rng = np.random.default_rng(n * 1000 + stop)
    x = torch.from_numpy(rng.integers(-4, 5, size=(n, 4 * LANES)).astype(np.float32) / 2)
    x[0, start] = -0.0  # ties, repeated values, a negative zero
    got = sorted_columns(x, slice(start, stop))
    want = np.sort(x.numpy()[:, start:stop].T, axis=1)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_chosen_rows_only_as_bulyan_asks():
    x = torch.randn(9, 5000)
    rows = np.array([0, 2, 3, 7, 8])
    x[1, 10] = float("nan")  # a row left out is never read
    got = sorted_columns(x, slice(0, 5000), rows)
    assert np.array_equal(got, np.sort(x.numpy()[rows].T, axis=1))


def test_kernel_and_numpy_paths_agree():
    x = torch.randn(7, 3000)
    fast = sorted_columns(x, slice(100, 2900))
    slow = sorted_columns(x.double(), slice(100, 2900))
    assert np.array_equal(fast, slow.astype(np.float32))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_non_finite_value_is_named(bad, dtype):
    x = torch.randn(6, 1000, dtype=dtype)
    x[4, 999] = bad
    with pytest.raises(AggregationError, match="finite"):
        sorted_columns(x, slice(0, 1000))


def test_same_result_whatever_the_thread_count():
    x = torch.randn(21, 100_000)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = sorted_columns(x, slice(0, 100_000))
        torch.set_num_threads(2)
        two = sorted_columns(x, slice(0, 100_000))
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(one, two)
