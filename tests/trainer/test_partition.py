import numpy as np
import pytest

from fedmarket.datasets import Dataset, holdout_split, partition, partition_indices


@pytest.mark.parametrize("alpha", [None, 0.1, 1.0, 100.0])
def test_partition_covers_every_sample_exactly_once(digits, alpha) -> None:
    parts = partition_indices(digits.y, 8, alpha, seed=3)

    merged = np.concatenate(parts)

    assert len(parts) == 8 and all(len(p) > 0 for p in parts)
    assert np.array_equal(np.sort(merged), np.arange(len(digits)))


def test_iid_parts_are_near_equal(digits) -> None:
    sizes = [len(p) for p in partition_indices(digits.y, 8, None, seed=0)]

    assert max(sizes) - min(sizes) <= 1


def test_partition_is_reproducible_by_seed(digits) -> None:
    first = partition_indices(digits.y, 5, 0.5, seed=11)
    again = partition_indices(digits.y, 5, 0.5, seed=11)
    other = partition_indices(digits.y, 5, 0.5, seed=12)

    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def dominant_class_share(labels: np.ndarray, parts: list[np.ndarray]) -> float:
    return float(np.mean([np.bincount(labels[p]).max() / len(p) for p in parts]))


def test_small_alpha_skews_labels(digits) -> None:
    skewed = partition_indices(digits.y, 10, 0.1, seed=0)
    iid = partition_indices(digits.y, 10, None, seed=0)

    assert dominant_class_share(digits.y, skewed) > 0.5
    assert dominant_class_share(digits.y, iid) < 0.2


def test_partition_returns_datasets(digits) -> None:
    parts = partition(digits, 4, None, seed=0)

    assert sum(len(p) for p in parts) == len(digits)
    assert parts[0].feature_shape == (64,)


def test_holdout_is_disjoint_and_stratified(digits) -> None:
    tagged = Dataset(np.arange(len(digits), dtype=np.float32)[:, None], digits.y, "tagged")

    rest, held = holdout_split(tagged, 0.2, seed=0)

    ids = np.concatenate([rest.x[:, 0], held.x[:, 0]])
    assert np.array_equal(np.sort(ids), np.arange(len(digits)))
    shares = np.bincount(held.y) / np.bincount(digits.y)
    assert np.all(np.abs(shares - 0.2) < 0.02)
