"""Sketches: deterministic from the seed, exact integers, JL-faithful enough for Multi-Krum."""

from __future__ import annotations

import numpy as np
import pytest

from fedmarket.zk.sketch import (
    SKETCH_BITS,
    SKETCH_MAX,
    SKETCH_OFFSET,
    _sign_bits,
    choose_shift,
    encode,
    fixed_point_update,
    pack,
    project,
    quantize,
    sketch_round,
)


def updates(n: int = 5, dim: int = 3000) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.normal(0, 0.01, dim).astype(np.float32) for _ in range(n)]


def test_sketch_round_same_seed_same_sketches():
    first = sketch_round(updates(), seed=42)
    second = sketch_round([u.copy() for u in updates()], seed=42)
    assert first == second


def test_sketch_round_other_seed_other_sketches():
    assert sketch_round(updates(), seed=42)[0] != sketch_round(updates(), seed=43)[0]


def test_project_is_the_exact_signed_sum():
    xq = fixed_point_update(updates(1)[0])
    signs = np.where(_sign_bits(9, xq.size, 16), 1, -1).astype(np.int64)
    assert project(xq, seed=9) == [int(v) for v in signs @ xq]
    assert abs(float(signs.mean())) < 0.05


def test_sketch_distances_follow_update_distances():
    base = updates(1)[0]
    near, far = base + 0.001, base * -3
    sketches, _ = sketch_round([base, near, far], seed=5)
    d = [sum((a - b) ** 2 for a, b in zip(sketches[0], s, strict=True)) for s in sketches[1:]]
    assert d[0] < d[1]


def test_fixed_point_update_refuses_non_finite():
    with pytest.raises(ValueError, match="non-finite"):
        fixed_point_update(np.array([1.0, np.nan]))


def test_quantize_rounds_half_away_from_zero_and_clamps():
    assert quantize([3, -3, 5, -5, 1 << 40], shift=1) == [2, -2, 3, -3, SKETCH_MAX]


def test_choose_shift_ignores_a_minority_of_huge_updates():
    honest = [[1000] * 16] * 4
    assert choose_shift(honest + [[10**12] * 16]) == choose_shift(honest)


def test_encode_and_pack_layout():
    encoded = encode([0] * 15 + [-SKETCH_MAX])
    assert encoded[0] == SKETCH_OFFSET
    assert pack(encoded) >> (SKETCH_BITS * 15) == 1
    with pytest.raises(ValueError):
        encode([SKETCH_MAX + 1] + [0] * 15)
