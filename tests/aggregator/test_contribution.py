import itertools
import math

import pytest
import torch

from aggregator import contribution
from aggregator.contribution import ScoringContext, SeededRng, derive_seed
from fedmarket.errors import AggregationError


def exact_shapley(n, v):
    phi = [0.0] * n
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for k in range(n):
            for s in itertools.combinations(others, k):
                w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                phi[i] += w * (v(tuple(sorted((*s, i)))) - v(s))
    return phi


def glove_game(s):
    # players 0,1 hold left gloves, 2 a right glove; 3 is a null player
    left = len({0, 1} & set(s))
    right = len({2} & set(s))
    return float(min(left, right))


def test_gtg_efficiency():
    v = lambda s: (len(s) ** 0.5) + 0.3 * (0 in s)  # noqa: E731
    phi = contribution.get("gtg_shapley")(eps_within=1e-6)(
        ScoringContext((0, 1, 2, 3, 4), seed=7, utility=v)
    )
    assert sum(phi) == pytest.approx(v((0, 1, 2, 3, 4)) - v(()), abs=1e-6)


def test_gtg_symmetry_and_null_player():
    phi = contribution.get("gtg_shapley")(eps_within=0.0, tol=0.0, max_sweeps=60)(
        ScoringContext((0, 1, 2, 3), seed=1, utility=glove_game)
    )
    exact = exact_shapley(4, glove_game)
    assert phi[0] == pytest.approx(phi[1], abs=0.05)
    assert phi[3] == 0.0
    assert phi == pytest.approx(exact, abs=0.05)


def test_gtg_additive_game_is_exact():
    w = {10: 0.5, 20: -0.2, 30: 1.0}
    v = lambda s: sum(w[i] for i in s)  # noqa: E731
    phi = contribution.get("gtg_shapley")(eps_within=0.0)(
        ScoringContext((10, 20, 30), seed=3, utility=v)
    )
    assert phi == pytest.approx([0.5, -0.2, 1.0])


def test_gtg_between_round_truncation():
    phi = contribution.get("gtg_shapley")(eps_between=0.1)(
        ScoringContext((0, 1, 2), seed=0, utility=lambda s: 0.01 * len(s))
    )
    assert phi == [0.0, 0.0, 0.0]


def test_gtg_reproducible_from_seed():
    v = lambda s: float(len(s) ** 2 + (1 in s))  # noqa: E731
    scorer = contribution.get("gtg_shapley")(max_sweeps=3, tol=0.0)
    a = scorer(ScoringContext(tuple(range(6)), seed=42, utility=v))
    b = scorer(ScoringContext(tuple(range(6)), seed=42, utility=v))
    assert a == b


def test_leave_one_out_toy_game():
    phi = contribution.get("leave_one_out")()(
        ScoringContext((0, 1, 2, 3), seed=0, utility=glove_game)
    )
    # removing 2 loses the pair; removing either left glove loses nothing
    assert phi == [0.0, 0.0, 1.0, 0.0]


def test_utility_required():
    with pytest.raises(AggregationError, match="needs a utility"):
        contribution.get("leave_one_out")()(ScoringContext((0, 1), seed=0))


def test_cosine_clipped_at_zero():
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 0.0]])
    agg = torch.tensor([2.0, 0.0])
    phi = contribution.get("cosine")()(
        ScoringContext((0, 1, 2, 3), seed=0, updates=x, aggregate=agg)
    )
    assert phi == pytest.approx([1.0, 2**-0.5, 0.0, 0.0])


def test_seed_derivation_and_rng_are_stable():
    seed = derive_seed(1, 2, b"\x11" * 32)
    assert seed == derive_seed(1, 2, b"\x11" * 32) != derive_seed(1, 3, b"\x11" * 32)
    items = list(range(10))
    SeededRng(seed).shuffle(items)
    again = list(range(10))
    SeededRng(seed).shuffle(again)
    assert items == again and sorted(items) == list(range(10))
