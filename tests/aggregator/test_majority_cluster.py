"""FLAME's majority cluster and its rival groups (aggregator.rules.majority_cluster)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from aggregator import rules
from aggregator.rules.majority_cluster import majority_cluster, rival_groups
from aggregator.rules.similarity_groups import pairwise_cosines


def _hdbscan_majority(cosines: torch.Tensor) -> list[int]:
    from sklearn.cluster import HDBSCAN

    n = cosines.shape[0]
    distance = (1.0 - cosines.double()).clamp_min(0.0).numpy()
    np.fill_diagonal(distance, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = HDBSCAN(min_cluster_size=n // 2 + 1, min_samples=1, allow_single_cluster=True,
                         metric="precomputed").fit(distance).labels_
    if not (labels >= 0).any():
        return []
    return sorted(np.flatnonzero(labels == np.bincount(labels[labels >= 0]).argmax()).tolist())


@pytest.mark.parametrize("seed", range(40))
def test_majority_cluster_is_flames_hdbscan_cluster(seed):
    # FLAME's configuration of HDBSCAN (scikit-learn, an independent implementation).
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 14))
    rows = rng.normal(size=(n, 6)) + rng.normal(size=6) * rng.uniform(0.0, 3.0)
    cosines = pairwise_cosines(torch.tensor(rows, dtype=torch.float64))

    members, _ = majority_cluster(cosines)

    assert members == _hdbscan_majority(cosines)


def _honest_and_colluders(seed: int = 0) -> torch.Tensor:
    """Six loose updates around one direction, three tighter ones around another (rows 6-8).

    D = 2000 keeps the colluders' cosine to the honest mean above trusted's noise floor
    3 / sqrt(D) = 0.067, so it is the majority step that drops them.
    """
    gen = torch.Generator().manual_seed(seed)
    task, trigger = torch.randn(2000, generator=gen), torch.randn(2000, generator=gen)
    honest = task + 1.5 * torch.randn(6, 2000, generator=gen)  # pairwise cos about 0.3
    # Pairwise cos about 0.71 (below the near-copy 0.9), 0.15 to the honest (below their 0.31).
    colluders = task + 3 * trigger + 2.0 * torch.randn(3, 2000, generator=gen)
    return torch.cat([honest, colluders])


def test_a_tight_minority_outside_the_majority_is_a_rival_group():
    cosines = pairwise_cosines(_honest_and_colluders())

    members, formed = majority_cluster(cosines)

    # n // 2 + 1 = 5 of the six honest; the sixth is an outlier, but on its own.
    assert len(members) == 5 and set(members) < {0, 1, 2, 3, 4, 5}
    assert rival_groups(cosines, members, 0.8 * formed) == [[6, 7, 8]]


def test_scattered_outliers_are_no_rival_group():
    gen = torch.Generator().manual_seed(1)
    task = torch.randn(2000, generator=gen)
    # Eight updates about as far from each other; the three left outside are not closer.
    rows = task + 1.5 * torch.randn(8, 2000, generator=gen)
    cosines = pairwise_cosines(rows)

    members, formed = majority_cluster(cosines)

    assert len(members) == 5
    assert rival_groups(cosines, members, 0.8 * formed) == []


def test_trusted_drops_the_rival_group_and_reports_it():
    updates = _honest_and_colluders()
    reference = updates[:6].mean(dim=0)
    counts = torch.full((9,), 100.0, dtype=torch.float64)

    result = rules.get("trusted")().aggregate(updates, counts, reference=reference)

    assert result.accepted == [0, 1, 2, 3, 4, 5]
    assert result.rivals == [[6, 7, 8]]
    assert result.scores["in_cluster"] == [1.0] * 6 + [0.0] * 3
    assert all(result.scores["weight_before_rivals"][i] > 0 for i in (6, 7, 8))


def test_trusted_with_majority_off_keeps_the_group():
    updates = _honest_and_colluders()
    reference = updates[:6].mean(dim=0)
    counts = torch.full((9,), 100.0, dtype=torch.float64)

    result = rules.get("trusted")(majority="off").aggregate(updates, counts, reference=reference)

    assert result.accepted == list(range(9)) and result.rivals is None


def test_trusted_rejects_an_unknown_majority_policy():
    from fedmarket.errors import AggregationError

    with pytest.raises(AggregationError, match="majority must be one of"):
        rules.get("trusted")(majority="hdbscan")


def test_consensus_cosine_is_the_cosine_to_the_others_unit_sum():
    from aggregator.rules.similarity_groups import consensus_cosines

    gen = torch.Generator().manual_seed(2)
    rows = torch.randn(6, 50, generator=gen, dtype=torch.float64)
    units = rows / rows.norm(dim=1, keepdim=True)
    chosen = [0, 2, 3, 5]

    got = consensus_cosines(pairwise_cosines(rows), chosen)

    total = units[chosen].sum(dim=0)
    want = [float(units[i] @ (total - units[i]) / (total - units[i]).norm()) for i in chosen]
    assert got == pytest.approx(want, abs=1e-12)


def test_trusted_rejects_a_copy_of_the_others_mean():
    gen = torch.Generator().manual_seed(3)
    task = torch.randn(2000, generator=gen)
    honest = task + 1.5 * torch.randn(6, 2000, generator=gen)  # pairwise cos about 0.3
    mean_copy = honest.mean(dim=0, keepdim=True)  # cos to each honest about 0.55, to the mean 1
    updates = torch.cat([honest, mean_copy])
    counts = torch.full((7,), 100.0, dtype=torch.float64)

    result = rules.get("trusted")().aggregate(updates, counts, reference=task)

    assert result.accepted == [0, 1, 2, 3, 4, 5]
    assert result.scores["consensus_cosine"][6] > 0.99
    assert max(result.scores["consensus_cosine"][:6]) < 0.9
