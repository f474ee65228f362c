"""The trusted pipeline's pieces on hand-made updates: FLTrust trust, groups, group_shapley."""

from __future__ import annotations

import pytest
import torch

from aggregator import contribution, rules
from aggregator.contribution import ScoringContext
from aggregator.rules.similarity_groups import pairwise_cosines, similarity_groups
from fedmarket.errors import AggregationError


def honest_updates(n: int = 5, dim: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(dim, generator=gen)
    rows = direction + 1.0 * torch.randn(n, dim, generator=gen)  # honest pairs: cosine ~0.5
    return rows, direction


def samples(n: int) -> torch.Tensor:
    return torch.full((n,), 100.0, dtype=torch.float64)


def test_fltrust_gives_no_trust_against_the_reference():
    updates, reference = honest_updates()
    updates = torch.cat([updates, -updates[:1]])

    result = rules.get("fltrust")().aggregate(updates, samples(6), reference=reference)

    assert 5 not in result.accepted and result.scores["trust"][5] == 0.0


def test_a_boosted_update_has_the_influence_of_an_unboosted_one():
    updates, reference = honest_updates()
    boosted = updates.clone()
    boosted[0] *= 10.0

    a = rules.get("trusted")().aggregate(updates, samples(5), reference=reference)
    b = rules.get("trusted")().aggregate(boosted, samples(5), reference=reference)

    assert torch.allclose(a.aggregate, b.aggregate, atol=1e-5)


def test_near_copies_form_one_group_and_honest_updates_do_not():
    updates, _ = honest_updates()
    gen = torch.Generator().manual_seed(1)
    copies = updates[0] + 0.01 * updates[0].norm() / 50**0.5 * torch.randn(2, 50, generator=gen)

    groups, _ = similarity_groups(pairwise_cosines(torch.cat([updates, copies])), 0.9)

    assert groups == [[0, 5, 6], [1], [2], [3], [4]]


def test_trusted_rejects_near_copies_by_default_and_one_vote_shares_a_weight():
    updates, reference = honest_updates()
    with_copies = torch.cat([updates, updates[:1] * 1.0001, updates[:1] * 0.9999])

    rejected = rules.get("trusted")().aggregate(with_copies, samples(7), reference=reference)
    one_vote = rules.get("trusted")(replicas="one_vote").aggregate(with_copies, samples(7),
                                                                   reference=reference)

    assert rejected.accepted == [1, 2, 3, 4]
    trust = one_vote.scores["trust"]
    assert one_vote.weights is not None
    assert one_vote.weights[0] == pytest.approx(trust[0] / 3)
    assert one_vote.weights[1] == pytest.approx(trust[1])


def test_trusted_needs_a_reference():
    updates, _ = honest_updates()

    with pytest.raises(AggregationError, match="needs a reference update"):
        rules.get("trusted")().aggregate(updates, samples(5))


def test_group_shapley_pays_a_group_of_replicas_one_player_value():
    def v(s: tuple[int, ...]) -> float:  # parties: {0, 1} (replicas) and {2}; additive
        return 1.0 * bool({0, 1} & set(s)) + 1.0 * (2 in s)

    scorer = contribution.get("group_shapley")(eps_within=0.0)
    grouped = scorer(ScoringContext((0, 1, 2), seed=3, utility=v, groups=((0, 1), (2,))))

    assert grouped == pytest.approx([0.5, 0.5, 1.0])


def test_group_shapley_without_groups_is_gtg_shapley():
    def v(s: tuple[int, ...]) -> float:
        return len(s) ** 0.5 + 0.2 * (1 in s)

    ctx = ScoringContext((0, 1, 2, 3), seed=5, utility=v)

    assert contribution.get("group_shapley")()(ctx) == contribution.get("gtg_shapley")()(ctx)


def test_pure_noise_gets_no_trust_above_the_noise_floor():
    gen = torch.Generator().manual_seed(4)
    dim = 10_000
    reference = torch.randn(dim, generator=gen)
    honest = reference + 3.0 * torch.randn(4, dim, generator=gen)  # cosine ~0.3
    noise = torch.randn(20, dim, generator=gen)  # cosine ~N(0, 0.01): 3 sigmas = 0.03

    result = rules.get("trusted")().aggregate(torch.cat([honest, noise]), samples(24),
                                              reference=reference)

    assert result.accepted == [0, 1, 2, 3]
