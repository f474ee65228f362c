"""The integer Multi-Krum and reward split the circuit proves."""

from __future__ import annotations

import pytest

from fedmarket.zk.krum import krum_scores, multi_krum_flags, proportional_split


def test_multi_krum_flags_far_sketch():
    sketches = [[10, 10], [11, 10], [10, 12], [12, 11], [500, -400]]
    assert multi_krum_flags(sketches, f=1, m=4) == [False, False, False, False, True]


def test_krum_scores_sum_of_closest():
    sketches = [[0], [1], [3], [10]]
    # q = n - f - 2 = 2: trainer 0's two closest are at squared distance 1 and 9
    assert krum_scores(sketches, f=0)[0] == 10


def test_multi_krum_flags_ties_broken_by_slot():
    sketches = [[0], [0], [0], [0], [0]]
    assert multi_krum_flags(sketches, f=1, m=3) == [False, False, False, True, True]


@pytest.mark.parametrize(("n", "f", "m"), [(4, 2, 1), (5, 1, 0), (5, 1, 6), (5, -1, 3)])
def test_multi_krum_flags_bad_parameters(n, f, m):
    with pytest.raises(ValueError, match="Multi-Krum needs"):
        multi_krum_flags([[i] for i in range(n)], f, m)


def test_proportional_split_floors_and_skips_flagged():
    amounts = proportional_split(100, [1, 1, 1, 5], [False, False, False, True])
    assert amounts == [33, 33, 33, 0]


def test_proportional_split_nothing_to_weigh():
    assert proportional_split(100, [0, 7], [False, True]) == [0, 0]
