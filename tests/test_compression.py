"""Compressed updates decode to the same float32 bits everywhere, and top-k loses nothing."""

from __future__ import annotations

import pytest
import torch

from fedmarket.compression import (
    Compressed,
    Compression,
    ErrorFeedback,
    compress,
    compressed_bytes,
    decompress,
)
from fedmarket.errors import CodecError, ConfigError


def delta(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {"fc1.weight": torch.randn(64, 32, generator=gen), "fc1.bias": torch.randn(64,
            generator=gen), "fc2.weight": torch.randn(10, 64, generator=gen) * 1e-3}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_int8_error_is_at_most_half_a_step_per_value(seed: int) -> None:
    original = delta(seed)
    parts = compress(original, Compression("int8"))
    restored = decompress(parts)

    for name, tensor in original.items():
        scales = parts[name].scales
        assert scales is not None
        step = float(scales.max())
        # round-to-nearest of x/scale, then one float32 multiply: |error| <= step/2 plus the
        # float32 rounding of the two operations (a few ulps of the largest value).
        slack = 4 * torch.finfo(torch.float32).eps * float(tensor.abs().max())
        assert float((restored[name] - tensor).abs().max()) <= step / 2 + slack
    assert compressed_bytes(parts) * 3.9 < sum(4 * t.numel() for t in original.values())


def test_decoding_is_the_same_bits_whatever_the_thread_count() -> None:
    parts = compress(delta(3), Compression("int8"))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = decompress(parts)
        torch.set_num_threads(2)
        two = decompress(parts)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(one[n], two[n]) for n in one)


def test_topk_sends_the_largest_coordinates_and_breaks_ties_by_index() -> None:
    tensor = torch.tensor([0.5, -2.0, 2.0, 0.1, -0.5, 1.0])
    part = compress({"t": tensor}, Compression("topk", fraction=0.5))["t"]  # k = 3

    assert part.indices is not None
    assert part.indices.tolist() == [1, 2, 5]
    assert decompress({"t": part})["t"].tolist() == [0.0, -2.0, 2.0, 0.0, 0.0, 1.0]


def test_error_feedback_delivers_every_coordinate_eventually() -> None:
    # The same delta every round: after enough rounds the sum sent equals the sum computed
    # up to what is still held back (the residual), which stays bounded.
    how = Compression("topk", fraction=0.1)
    feedback = ErrorFeedback()
    original = delta(4)
    sent_total = {n: torch.zeros_like(t) for n, t in original.items()}
    rounds = 30
    for _ in range(rounds):
        for n, t in decompress(feedback.step(original, how)).items():
            sent_total[n] += t
    for n, t in original.items():
        computed = rounds * t
        gap = computed - sent_total[n]
        assert torch.allclose(gap, feedback.residual[n], atol=1e-3 * float(computed.abs().max()))
        # A coordinate waits at most about D / k = 10 rounds before its accumulated value is
        # among the k largest, so its residual stays below ~10x its size (15x: margin).
        assert float(feedback.residual[n].abs().max()) < 15 * float(t.abs().max())


def test_malformed_parts_are_refused() -> None:
    bad_index = Compressed((4,), torch.ones(2), indices=torch.tensor([3, 1]))
    out_of_range = Compressed((4,), torch.ones(1), indices=torch.tensor([4]))
    wrong_size = Compressed((4,), torch.zeros(3, dtype=torch.int8), scales=torch.ones(1))

    for part in (bad_index, out_of_range, wrong_size):
        with pytest.raises(CodecError):
            decompress({"t": part})
    with pytest.raises(ConfigError):
        Compression("gzip")
    with pytest.raises(ConfigError):
        Compression("topk", fraction=0.0)
