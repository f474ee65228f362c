import numpy as np
import pytest
import torch

from aggregator import rules
from aggregator.rules import chunks
from aggregator.rules.bulyan import closest_to_median_mean
from aggregator.rules.distances import pairwise_sq_distances, weighted_mean
from fedmarket.errors import AggregationError


def honest_and_flipped(n_honest: int, n_bad: int, dim: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    center = torch.randn(dim, generator=g)
    honest = center + 0.05 * torch.randn(n_honest, dim, generator=g)
    return torch.cat([honest, -3.0 * honest[:n_bad]])


def test_registry_names():
    assert rules.names() == sorted(
        ["bulyan", "centered_clip", "fedavg", "krum", "median", "multi_krum", "norm_bound",
         "trimmed_mean", "foolsgold", "fltrust", "trusted"]
    )


def test_unknown_rule_raises():
    with pytest.raises(AggregationError, match="unknown aggregation rule"):
        rules.get("nope")


def test_pairwise_distances_match_direct():
    x = torch.randn(7, 5000, dtype=torch.float64)
    expected = torch.cdist(x, x) ** 2
    assert torch.allclose(pairwise_sq_distances(x), expected, atol=1e-8)


def test_fedavg_equals_weighted_mean():
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    w = torch.tensor([1.0, 1.0, 2.0])
    agg, accepted = rules.get("fedavg")()(x, w)
    assert torch.allclose(agg, torch.tensor([3.5, 7.0]))
    assert accepted == [0, 1, 2]


def test_krum_hand_computed():
    # points on a line: 0, 1, 2, 10, 11 ; n=5, f=1 -> 2 neighbours
    x = torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0]])
    agg, accepted = rules.get("krum")(f=1)(x, torch.ones(5))
    # scores: 0:1+4=5, 1:1+1=2, 2:1+4=5, 3:1+64=65, 4:1+81=82
    assert accepted == [1]
    assert agg.tolist() == [1.0]
    r = rules.get("krum")(f=1).aggregate(x, torch.ones(5))
    assert r.scores["krum_score"] == [5.0, 2.0, 5.0, 65.0, 82.0]


def test_krum_tie_goes_to_lower_index():
    x = torch.tensor([[0.0], [1.0], [0.0], [1.0], [0.5]])
    _, accepted = rules.get("krum")(f=0)(x, torch.ones(5))
    assert accepted == [4]
    x = torch.tensor([[0.0], [0.0], [0.0], [9.0], [9.0]])
    _, accepted = rules.get("krum")(f=1)(x, torch.ones(5))
    assert accepted == [0]


def test_krum_picks_honest_cluster_under_sign_flips():
    x = honest_and_flipped(7, 2)
    _, accepted = rules.get("krum")(f=2)(x, torch.ones(9))
    assert accepted[0] < 7


def test_multi_krum_selects_honest():
    x = honest_and_flipped(6, 2)
    w = torch.arange(1.0, 9.0)
    agg, accepted = rules.get("multi_krum")(f=2)(x, w)
    assert accepted == list(range(6))
    assert torch.allclose(agg, weighted_mean(x, w, range(6)))


def test_krum_precondition_raises():
    with pytest.raises(AggregationError, match=r"n >= 2f \+ 3"):
        rules.get("krum")(f=2)(torch.randn(6, 3), torch.ones(6))


def test_bulyan_precondition_raises():
    with pytest.raises(AggregationError, match=r"n >= 4f \+ 3"):
        rules.get("bulyan")(f=2)(torch.randn(10, 3), torch.ones(10))


def test_bulyan_rejects_flipped_and_stays_near_honest():
    x = honest_and_flipped(9, 2)
    agg, accepted = rules.get("bulyan")(f=2)(x, torch.ones(11))
    assert set(accepted) <= set(range(9)) and len(accepted) == 7
    assert (agg - x[:9].mean(0)).norm() < 0.2 * x[:9].mean(0).norm()


def test_bulyan_hand_computed_f0():
    # f=0: theta=n, beta=n -> plain coordinate-wise mean
    x = torch.tensor([[1.0, 0.0], [2.0, 3.0], [6.0, 3.0]])
    agg, accepted = rules.get("bulyan")(f=0)(x, torch.ones(3))
    assert accepted == [0, 1, 2]
    assert torch.allclose(agg, torch.tensor([3.0, 2.0]))


def test_median_hand_computed():
    x = torch.tensor([[1.0, 5.0], [2.0, -1.0], [100.0, 0.0], [3.0, 2.0]])
    agg, accepted = rules.get("median")()(x, torch.ones(4))
    assert agg.tolist() == [2.5, 1.0]
    assert accepted == [0, 1, 2, 3]


@pytest.mark.parametrize("name,params", [("median", {}), ("trimmed_mean", {"f": 2})])
def test_coordinatewise_bounded_by_honest(name, params):
    x = honest_and_flipped(6, 2)
    x[6:] *= 1000.0
    agg, _ = rules.get(name)(**params)(x, torch.ones(8))
    lo, hi = x[:6].min(0).values, x[:6].max(0).values
    assert bool(((agg >= lo - 1e-6) & (agg <= hi + 1e-6)).all())


def test_trimmed_mean_hand_computed():
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0], [100.0]])
    agg, _ = rules.get("trimmed_mean")(f=1)(x, torch.ones(5))
    assert agg.tolist() == [3.0]
    agg, _ = rules.get("trimmed_mean")(beta=0.2)(x, torch.ones(5))
    assert agg.tolist() == [3.0]


def test_trimmed_mean_needs_n_above_2k():
    with pytest.raises(AggregationError, match="n > 2k"):
        rules.get("trimmed_mean")(f=2)(torch.randn(4, 2), torch.ones(4))


def test_norm_bound_clips():
    x = torch.tensor([[3.0, 4.0], [0.6, 0.8]])
    agg, _ = rules.get("norm_bound")(max_norm=1.0)(x, torch.ones(2))
    assert torch.allclose(agg, torch.tensor([0.6, 0.8]))


def test_centered_clip_one_step_hand_computed():
    x = torch.tensor([[2.0, 0.0], [0.0, 0.5]])
    agg, accepted = rules.get("centered_clip")(tau=1.0, iters=1)(x, torch.ones(2))
    # from 0: first clipped to [1, 0], second kept -> mean
    assert torch.allclose(agg, torch.tensor([0.5, 0.25]))
    assert accepted == [0, 1]


def test_centered_clip_bounds_outlier_influence():
    x = honest_and_flipped(8, 1)
    x[8] *= 1e6
    agg, _ = rules.get("centered_clip")(iters=5)(x, torch.ones(9))
    assert (agg - x[:8].mean(0)).norm() < x[:8].mean(0).norm()


@pytest.mark.parametrize(
    "name,params",
    [("krum", {"f": -1}), ("multi_krum", {"f": 1.5}), ("trimmed_mean", {"beta": 0.5}),
     ("norm_bound", {"max_norm": 0}), ("centered_clip", {"iters": 0})],
)
def test_bad_params_raise(name, params):
    with pytest.raises(AggregationError):
        rules.get(name)(**params)


@pytest.mark.parametrize("name", ["fedavg", "krum", "median", "trimmed_mean", "norm_bound"])
def test_non_finite_raises(name):
    x = torch.randn(5, 4)
    x[2, 1] = float("nan")
    with pytest.raises(AggregationError, match="finite"):
        rules.get(name)()(x, torch.ones(5))


def test_shape_mismatch_raises():
    with pytest.raises(AggregationError, match="weights must have shape"):
        rules.get("fedavg")()(torch.randn(3, 2), torch.ones(4))
    with pytest.raises(AggregationError, match="2-D"):
        rules.get("fedavg")()(torch.randn(3), torch.ones(3))


ALL_RULES = [
    ("fedavg", {}), ("krum", {"f": 2}), ("multi_krum", {"f": 2}), ("median", {}),
    ("trimmed_mean", {"f": 2}), ("bulyan", {"f": 2}), ("centered_clip", {}), ("norm_bound", {}),
]


@pytest.mark.parametrize("name,params", ALL_RULES)
def test_chunked_matches_one_chunk(monkeypatch, name, params):
    # D = 5003 is no multiple of any chunk width below: the last chunk is a partial one
    x = honest_and_flipped(9, 2, dim=5003)
    w = torch.arange(1.0, 12.0)
    monkeypatch.setattr(chunks, "CHUNK_ELEMENTS", 1 << 30)
    monkeypatch.setattr(rules.centered_clip, "CLIP_CHUNK_ELEMENTS", 1 << 30)
    expected = rules.get(name)(**params)(x, w)
    monkeypatch.setattr(chunks, "CHUNK_ELEMENTS", 11 * 300)
    monkeypatch.setattr(rules.centered_clip, "CLIP_CHUNK_ELEMENTS", 11 * 300)
    got = rules.get(name)(**params)(x, w)
    assert got[1] == expected[1]
    assert torch.allclose(got[0], expected[0], rtol=1e-6, atol=1e-6)


def test_column_chunks_cover_dim_exactly():
    got = chunks.column_chunks(3, 1000, budget=3 * 256)
    assert [(c.start, c.stop) for c in got] == [(0, 256), (256, 512), (512, 768), (768, 1000)]


@pytest.mark.parametrize("name,params", ALL_RULES)
def test_repeated_calls_are_bit_identical(name, params):
    x = honest_and_flipped(9, 2, dim=300_000)
    w = torch.arange(1.0, 12.0)
    first = rules.get(name)(**params).aggregate(x, w)
    rules.get("fedavg")()(x, w)  # other work in between must not change the next result
    again = rules.get(name)(**params).aggregate(x, w)
    assert torch.equal(first.aggregate, again.aggregate)
    assert first.accepted == again.accepted and first.scores == again.scores


def _nearest_to_median_mean_by_sorting(block: np.ndarray, beta: int) -> np.ndarray:
    # the definition, per column: stable order of |value - median|, mean of the first beta
    theta = block.shape[0]
    ordered = np.sort(block, axis=0).astype(np.float64)
    if theta % 2:
        med = ordered[theta // 2]
    else:
        med = (ordered[theta // 2 - 1] + ordered[theta // 2]) / 2
    nearest = np.argsort(np.abs(ordered - med), axis=0, kind="stable")[:beta]
    return np.take_along_axis(ordered, nearest, axis=0).mean(axis=0)


@pytest.mark.parametrize("theta", [1, 2, 5, 6, 11, 28])
def test_bulyan_window_matches_definition_with_ties(theta):
    rng = np.random.default_rng(theta)
    block = rng.integers(-3, 4, size=(theta, 500)).astype(np.float32)  # many equal values
    for beta in range(1, theta + 1):
        got = closest_to_median_mean(np.sort(block.T, axis=1), beta)
        assert np.allclose(got, _nearest_to_median_mean_by_sorting(block, beta), rtol=1e-12)


@pytest.mark.parametrize("name,params", ALL_RULES)
def test_huge_finite_updates_do_not_overflow(name, params):
    # float32 squares overflow above ~1e19: those chunks are redone in float64
    x = honest_and_flipped(9, 2) * 1e20
    agg, accepted = rules.get(name)(**params)(x, torch.ones(11))
    assert bool(torch.isfinite(agg).all())
    assert accepted


def test_norm_bound_tiny_updates_keep_their_norms():
    x = torch.tensor([[3e-25, 4e-25], [6e-26, 8e-26]])
    r = rules.get("norm_bound")().aggregate(x, torch.ones(2))
    assert r.scores["norm"] == pytest.approx([5e-25, 1e-25], rel=1e-6)


def test_weighted_mean_ignores_non_finite_rows_left_out():
    x = torch.randn(5, 1000)
    x[1, 3] = float("inf")
    got = weighted_mean(x, torch.ones(5), [0, 2, 4])
    assert torch.allclose(got, x[[0, 2, 4]].mean(0), atol=1e-6)
