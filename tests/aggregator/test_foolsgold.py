"""FoolsGold: k near-copies of one update together weigh no more than one distinct one."""

import torch

from aggregator import rules


def _honest(n: int, d: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(n, d, generator=gen, dtype=torch.float64)


def test_sybil_copies_get_zero_weight_and_honest_get_full() -> None:
    gen = torch.Generator().manual_seed(7)
    honest = _honest(6, 200, gen)
    base = torch.randn(200, generator=gen, dtype=torch.float64) * 5.0
    sybils = base + 0.01 * torch.randn(4, 200, generator=gen, dtype=torch.float64)
    x = torch.cat([honest, sybils])
    result = rules.get("foolsgold")().aggregate(x, torch.ones(10, dtype=torch.float64))
    w = result.scores["foolsgold_weight"]
    assert all(v == 1.0 for v in w[:6]), w
    assert sum(w[6:]) <= 1.0, w
    assert result.accepted == list(range(6))
    # the aggregate is the honest mean since the Sybils weigh 0
    torch.testing.assert_close(result.aggregate, honest.mean(dim=0))


def test_declared_sample_counts_buy_no_influence() -> None:
    gen = torch.Generator().manual_seed(3)
    x = _honest(5, 50, gen)
    rule = rules.get("foolsgold")()
    a = rule.aggregate(x, torch.ones(5, dtype=torch.float64)).aggregate
    b = rule.aggregate(x, torch.tensor([1e6, 1.0, 1.0, 1.0, 1.0], dtype=torch.float64)).aggregate
    torch.testing.assert_close(a, b, rtol=0, atol=0)
