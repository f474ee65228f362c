import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.rewards import split_rewards, to_fixed_point
from fedmarket.errors import AggregationError


def test_fixed_point_rounding():
    assert to_fixed_point(0.25) == 250_000
    assert to_fixed_point(-1e-7) == 0
    assert to_fixed_point(0.0000005) == 0  # exact binary value is just below the half
    assert to_fixed_point(1.5e-6) == 2  # ties to even on the exact value (1.5000000000000002e-6)
    with pytest.raises(AggregationError):
        to_fixed_point(float("nan"))


def test_split_proportional_with_dust():
    rewards = split_rewards(100, [1, 1, 1], [True, True, True])
    assert rewards == [33, 33, 33]


def test_rejected_and_nonpositive_get_zero():
    rewards = split_rewards(1000, [300, 100, -5, 600], [True, False, True, True])
    assert rewards == [333, 0, 0, 666]


def test_fallback_equal_and_none():
    assert split_rewards(10, [0, -1, 5], [True, True, False]) == [5, 5, 0]
    assert split_rewards(10, [0, -1, 5], [True, True, False], fallback="none") == [0, 0, 0]
    assert split_rewards(10, [3], [False]) == [0]


@given(
    pool=st.integers(min_value=0, max_value=10**30),
    rows=st.lists(
        st.tuples(st.integers(min_value=-(10**9), max_value=10**12), st.booleans()),
        min_size=1, max_size=30,
    ),
)
def test_split_never_exceeds_pool_and_is_proportional(pool, rows):
    scores = [s for s, _ in rows]
    accepted = [a for _, a in rows]
    rewards = split_rewards(pool, scores, accepted)
    assert sum(rewards) <= pool
    assert all(r == 0 for r, a in zip(rewards, accepted, strict=True) if not a)
    eligible = [i for i in range(len(rows)) if accepted[i] and scores[i] > 0]
    if eligible:
        total = sum(scores[i] for i in eligible)
        assert pool - sum(rewards) < len(eligible)
        for i in eligible:
            assert rewards[i] == pool * scores[i] // total
        assert all(rewards[i] == 0 for i in range(len(rows)) if i not in eligible)
