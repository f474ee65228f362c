"""Min-Max, Min-Sum, Fang-on-Krum and the backdoor on hand-made honest updates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedmarket.datasets import Dataset
from trainer import attacks
from trainer.attacks import AttackContext
from trainer.attacks.backdoor import stamp, triggered
from trainer.attacks.fang_krum import krum_choice
from trainer.attacks.vectors import flat_stack


def peers(k: int = 6, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(30, generator=gen)
    return [{"a": (direction + torch.randn(30, generator=gen))[:20],
             "b": (direction + torch.randn(30, generator=gen))[20:].reshape(2, 5)}
            for _ in range(k)]


@pytest.mark.parametrize("direction", ["unit", "std", "sign"])
def test_min_max_stays_within_the_largest_honest_distance(direction):
    honest = peers()
    attack = attacks.get("min_max", direction=direction, noise=0.0)

    crafted = flat_stack([attack.apply(honest[0], AttackContext(peer_deltas=honest))])[0]

    rows = flat_stack(honest)
    assert float(torch.cdist(crafted[None], rows).max()) <= float(torch.cdist(rows, rows).max())
    assert float((crafted - rows.mean(dim=0)).norm()) > 0.1  # it did move off the mean


def test_min_sum_is_within_an_honest_update_summed_squared_distances():
    honest = peers()
    attack = attacks.get("min_sum", noise=0.0)

    crafted = flat_stack([attack.apply(honest[0], AttackContext(peer_deltas=honest))])[0]

    rows = flat_stack(honest)
    spent = float((torch.cdist(crafted[None], rows) ** 2).sum())
    assert spent <= float((torch.cdist(rows, rows) ** 2).sum(dim=1).max())


def test_colluders_noise_makes_them_distinct_but_alike():
    honest = peers()
    attack = attacks.get("min_max")

    a, b = (flat_stack([attack.apply(honest[0], AttackContext(peer_deltas=honest, seed=s))])[0]
            for s in (1, 2))

    assert not torch.equal(a, b)
    assert float(torch.nn.functional.cosine_similarity(a, b, dim=0)) > 0.99


def test_fang_update_is_selected_by_krum_and_opposes_the_honest_mean():
    honest = peers(7)
    attack = attacks.get("fang_krum", noise=0.0)
    context = AttackContext(peer_deltas=honest, num_trainers=10, num_malicious=3)

    crafted = flat_stack([attack.apply(honest[0], context)])[0]

    rows = flat_stack(honest)
    assert krum_choice(torch.cat([rows, crafted.expand(3, -1)]), 3) >= 7
    assert float(crafted @ rows.mean(dim=0)) < 0


def test_backdoor_stamps_a_patch_and_relabels():
    x = np.zeros((4, 64), dtype=np.float32)
    x[0, 0] = 1.0
    data = Dataset(x, np.array([0, 1, 2, 3]), "toy")

    stamped = stamp(x).reshape(4, 8, 8)
    success_set = triggered(data)

    assert (stamped[:, 6:, 6:] == 1.0).all() and stamped[:, :6, :].sum() == 1.0
    assert list(success_set.y) == [0, 0, 0] and len(success_set) == 3
    poisoned = attacks.get("backdoor", poison=0.5).poison_data(data, AttackContext(seed=0))
    assert len(poisoned) == 6 and list(poisoned.y[4:]) == [0, 0]


def _coordinate_trimmed_mean(rows: torch.Tensor, trim: int) -> torch.Tensor:
    return rows.sort(dim=0).values[trim:rows.shape[0] - trim].mean(dim=0)


def test_fang_trmean_full_knowledge_lies_past_the_honest_extremes_against_the_mean():
    honest = peers()
    rows = flat_stack(honest)
    sign = torch.sign(rows.mean(dim=0))
    low, high = rows.min(dim=0).values, rows.max(dim=0).values
    attack = attacks.get("fang_trmean")

    crafted = [flat_stack([attack.apply(honest[0], AttackContext(peer_deltas=honest, seed=s))])[0]
               for s in (1, 2, 3)]

    for c in crafted:  # float32 on the way out: compare with a float32 step of slack
        slack = 1e-6 * (1 + rows.abs().max())
        assert bool(torch.all(torch.where(sign > 0, c <= low + slack, c >= high - slack)))
        # Within the paper's interval: at most b times as far out as the extreme (b = 2).
        bound = torch.where(sign > 0, torch.minimum(low / 2, 2 * low),
                            torch.maximum(2 * high, high / 2))
        assert bool(torch.all(torch.where(sign > 0, c >= bound - slack, c <= bound + slack)))
    assert not torch.equal(crafted[0], crafted[1])  # each colluder draws its own values
    # The trimmed mean (and the median) of honest + 3 crafted moves against the honest mean.
    attacked = torch.cat([rows, torch.stack(crafted)])
    for aggregate in (_coordinate_trimmed_mean(attacked, 3), attacked.median(dim=0).values):
        shift = (aggregate - _coordinate_trimmed_mean(rows, 0)) * sign
        assert float((shift < 0).double().mean()) > 0.9


def test_fang_trmean_partial_knowledge_is_three_to_four_sigmas_out():
    honest = peers(k=4, seed=5)
    rows = flat_stack(honest)
    mu, sigma = rows.mean(dim=0), rows.std(dim=0, correction=0)
    attack = attacks.get("fang_trmean")
    # No peers visible: the attack estimates from deltas trained on the attacker's own data.
    context = AttackContext(estimate_peers=lambda k: honest[:k], seed=7)

    crafted = flat_stack([attack.apply(honest[0], context)])[0]

    distance = (crafted - mu) * -torch.sign(mu) / sigma
    assert bool(torch.all((distance > 3 - 1e-4) & (distance < 4 + 1e-4)))


def test_fang_trmean_parameters_are_checked():
    with pytest.raises(Exception, match="b must be > 1"):
        attacks.get("fang_trmean", b=1.0)
