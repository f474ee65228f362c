"""The one-pass weighted-sum kernel: exact IEEE order, any thread count, rows left out unread."""

import numpy as np
import pytest
import torch

from aggregator.rules.distances import weighted_mean, weighted_sum
from aggregator.rules.sum_kernel import BLOCK


def sequential(x: torch.Tensor, coef: torch.Tensor, rows: list[int]) -> np.ndarray:
    """float64 multiply, then add, row after row; rounded once to float32 (the kernel's order)."""
    acc = np.zeros(x.shape[1])
    for k, r in enumerate(rows):
        acc = acc + float(coef[k]) * x[r].double().numpy()
    return acc.astype(np.float32)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 9, 50])
@pytest.mark.parametrize("d", [1, 7, BLOCK, BLOCK + 1, 3 * BLOCK - 5, 100_003])
def test_kernel_is_bit_identical_to_row_by_row_float64(n, d):
    g = torch.Generator().manual_seed(7 * n + d)
    x = torch.randn(n, d, generator=g)
    coef = torch.rand(n, generator=g, dtype=torch.float64)
    rows = list(range(n))
    got = weighted_sum(x, coef, rows)
    assert got.dtype == torch.float32
    assert np.array_equal(got.numpy(), sequential(x, coef, rows))


def test_chosen_rows_in_any_order_and_rows_left_out_are_never_read():
    x = torch.randn(8, 9000)
    x[2, 17] = float("nan")
    x[5, 8999] = float("inf")
    rows = [7, 0, 3, 6]
    coef = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    got = weighted_sum(x, coef, rows)
    assert np.array_equal(got.numpy(), sequential(x, coef, rows))
    assert bool(torch.isfinite(got).all())


def test_same_bits_whatever_the_thread_count():
    x = torch.randn(13, 200_000)
    w = torch.rand(13) + 0.1
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = weighted_mean(x, w)
        torch.set_num_threads(2)
        two = weighted_mean(x, w, range(13))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def test_kernel_and_torch_paths_agree():
    x = torch.randn(6, 50_000)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    fast = weighted_mean(x, w, [0, 2, 3, 5])
    strided = weighted_mean(torch.randn(6, 100_000)[:, ::2].copy_(x), w, [0, 2, 3, 5])
    # The kernel sums in float64 and rounds once (error <= u |mean|); the torch path may sum the
    # four weighted rows in float32: each product, the three additions and the division round,
    # so |error| <= gamma_6 * sum_i |w_i x_i| / sum_i w_i (Higham 3.1), u = 2^-24, on any CPU.
    u = 2.0**-24
    rows = x[[0, 2, 3, 5]].double()
    wr = w[[0, 2, 3, 5]].double()
    gamma = 6 * u / (1 - 6 * u)
    bound = gamma * (wr[:, None] * rows.abs()).sum(0) / wr.sum() + u * fast.double().abs()
    assert bool(((fast.double() - strided.double()).abs() <= bound).all())
