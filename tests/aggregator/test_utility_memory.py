"""The coalition sum behind every validation utility, block by block, equals the whole sum."""

from __future__ import annotations

import pytest
import torch

from aggregator import utility
from aggregator.utility import coalition_sum


@pytest.mark.parametrize("chunk", [7, 64, 1 << 18])
def test_the_blockwise_coalition_sum_equals_the_whole_float64_sum(
        monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    gen = torch.Generator().manual_seed(11)
    updates = torch.randn(9, 1000, generator=gen)
    rows = [0, 3, 4, 8]
    coef = torch.rand(len(rows), generator=gen, dtype=torch.float64)
    monkeypatch.setattr(utility, "COALITION_CHUNK", chunk)

    got = coalition_sum(updates, coef, rows)
    whole = coef @ updates[rows].to(torch.float64)

    # Same products, possibly summed in another order: each of the K - 1 additions may round
    # by one ulp of the running sum, bounded by eps * sum_k |coef_k x_kj| per addition.
    bound = len(rows) * torch.finfo(torch.float64).eps * (
        coef.abs() @ updates[rows].abs().to(torch.float64))
    assert got.dtype == torch.float64
    assert bool(((got - whole).abs() <= bound).all())
