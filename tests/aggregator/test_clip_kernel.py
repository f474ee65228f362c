"""The centered-clipping kernel: the torch path's results, any thread count, exact distances."""

import numpy as np
import pytest
import torch

from aggregator import rules
from aggregator.rules.centered_clip import CLIP_SPAN, _clip_pass


def test_first_pass_distances_are_squared_norms():
    x = torch.randn(7, CLIP_SPAN + 1234)
    sq = _clip_pass(x, torch.zeros(x.shape[1], dtype=torch.float64), None, distances=True)
    assert sq is not None
    want = (x.double() ** 2).sum(dim=1)
    assert torch.allclose(sq, want, rtol=1e-12)


def test_a_pass_moves_the_centre_and_measures_to_the_new_one():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 3 * CLIP_SPAN + 7, generator=g)
    start = torch.randn(x.shape[1], generator=g, dtype=torch.float64)
    coef = torch.tensor([0.1, 0.2, 0.05, 0.3, 0.15], dtype=torch.float64)
    center = start.clone()
    sq = _clip_pass(x, center, coef, distances=True)
    moved = start + coef @ (x.double() - start)
    assert torch.allclose(center, moved, rtol=1e-12, atol=1e-12)
    assert sq is not None
    assert torch.allclose(sq, ((x.double() - moved) ** 2).sum(dim=1), rtol=1e-10)


@pytest.mark.parametrize("params", [{}, {"tau": 0.5, "iters": 4}])
def test_kernel_and_torch_paths_agree(params):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(9, 70_000, generator=g)
    x[:2] *= -4.0
    rule = rules.get("centered_clip")(**params)
    fast = rule.aggregate(x, torch.ones(9))
    slow = rule.aggregate(x.double(), torch.ones(9))
    assert torch.allclose(fast.aggregate.double(), slow.aggregate, rtol=1e-5, atol=1e-6)
    assert np.allclose(fast.scores["clip_factor"], slow.scores["clip_factor"], rtol=1e-9)


def test_same_bits_whatever_the_thread_count():
    x = torch.randn(12, 5 * CLIP_SPAN)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = rules.get("centered_clip")().aggregate(x, torch.ones(12))
        torch.set_num_threads(2)
        two = rules.get("centered_clip")().aggregate(x, torch.ones(12))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one.aggregate, two.aggregate)
    assert one.scores == two.scores


def test_non_finite_update_is_named():
    x = torch.randn(6, 1000)
    x[3, 10] = float("inf")
    with pytest.raises(Exception, match="finite"):
        rules.get("centered_clip")()(x, torch.ones(6))
