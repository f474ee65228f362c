"""The compiled Gram kernel against float64 references, its fallbacks and its reproducibility."""

import numpy as np
import pytest
import torch

from aggregator.rules import chunks, gram
from aggregator.rules.gram import piece_width
from fedmarket.errors import AggregationError


def reference(x: torch.Tensor) -> torch.Tensor:
    wide = x.double()
    return wide @ wide.T


def rel_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / want.abs().max())


def float32_dot_bound(x: torch.Tensor) -> torch.Tensor:
    """Worst-case error of every float32 dot product ``x_i . x_j``, whatever the sum order.

    A dot product of ``d`` terms summed in float32 in any order (recursive, pairwise, SIMD lanes,
    blocks added into float64) is within ``gamma_d * sum_k |x_ik x_jk|`` of the exact value,
    ``gamma_d = d u / (1 - d u)``, ``u = 2^-24`` (Higham, Accuracy and Stability, 3.1). This holds
    on any CPU and any vector width, unlike a tolerance read off one machine's results; the
    float64 sums of the partials add at most ``gamma_d`` with ``u = 2^-53``, covered by the 2x.
    """
    d = x.shape[1]
    u = 2.0**-24
    gamma = d * u / (1 - d * u)
    wide = x.double().abs()
    return 2 * gamma * (wide @ wide.T)


def assert_within_float32_bound(got: torch.Tensor, x: torch.Tensor) -> None:
    """Every entry of a float32-path Gram matrix is within the arithmetic's error bound."""
    err = (got - reference(x)).abs()
    bound = float32_dot_bound(x)
    assert bool((err <= bound).all()), float((err / bound).max())


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 13, 50])
@pytest.mark.parametrize("d", [1, 15, 17, 1000, 70_001])
def test_kernel_matches_float64_for_every_tile_remainder(n, d):
    g = torch.Generator().manual_seed(n * 100_003 + d)
    x = torch.randn(d, generator=g) + 0.3 * torch.randn(n, d, generator=g)
    got = gram.gram_matrix(x)
    assert got.dtype == torch.float64 and got.shape == (n, n)
    assert_within_float32_bound(got, x)
    assert torch.equal(got, got.T)  # mirrored from the upper triangle, exactly symmetric


def test_kernel_spans_cover_every_column_once():
    for n, d in [(1, 1), (4, 63), (50, 1_000_000), (10, 100_000), (2000, 300)]:
        bounds = gram._span_bounds(n, d)
        assert bounds[0] == 0 and bounds[-1] == d
        assert (np.diff(bounds) > 0).all()
        assert len(bounds) - 1 <= gram.MAX_SPANS
        inner = np.diff(bounds)[:-1]
        assert (inner % piece_width(n) == 0).all()  # pieces never straddle two spans


def test_kernel_agrees_with_the_blas_path():
    x = torch.randn(11, 50_000)
    # Both paths sum float32 products in different orders: each lies within the bound of the
    # exact (float64) product, which is what "agree" can mean across CPUs.
    assert_within_float32_bound(gram.gram_matrix(x), x)
    assert_within_float32_bound(gram.blas_gram(x), x)


def test_strided_and_float64_inputs_take_the_blas_path():
    x = torch.randn(6, 4000, dtype=torch.float64)
    assert torch.allclose(gram.gram_matrix(x), reference(x), rtol=1e-12)
    wide = torch.randn(6, 8000)
    view = wide[:, ::2]  # not contiguous
    assert_within_float32_bound(gram.gram_matrix(view), view)


def test_same_bits_whatever_the_thread_count():
    x = torch.randn(23, 300_000)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = gram.gram_matrix(x)
        torch.set_num_threads(2)
        two = gram.gram_matrix(x)
        again = gram.gram_matrix(x)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two) and torch.equal(two, again)


@pytest.mark.parametrize("scale", [1e20, 1e-22])
def test_rows_out_of_float32_range_are_redone_in_float64(scale):
    base = torch.randn(5, 3000, dtype=torch.float64)
    x = (base * scale).float()
    got = gram.gram_matrix(x)
    assert bool(torch.isfinite(got).all())
    assert rel_error(got, reference(x)) < 1e-9


def test_zero_rows_give_zero_distances():
    x = torch.zeros(4, 1000)
    assert torch.equal(gram.pairwise_sq_distances(x), torch.zeros(4, 4, dtype=torch.float64))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_update_is_named(bad):
    x = torch.randn(5, 2000)
    x[2, 1500] = bad
    with pytest.raises(AggregationError, match="finite"):
        gram.pairwise_sq_distances(x)


def test_copy_row_is_a_copy():
    x = torch.randn(3, 10)
    row = chunks.copy_row(x, 1)
    assert torch.equal(row, x[1])
    row += 1
    assert not torch.equal(row, x[1])
    half = x.to(torch.bfloat16)
    assert torch.equal(chunks.copy_row(half, 2), half[2])
