"""Deltas as flat vectors, for attacks that reason about distances between whole updates.

Model-poisoning attacks tailored to an aggregation rule (Min-Max, Min-Sum, Fang) compare whole
updates by Euclidean distance; they work on ``[k, D]`` float64 stacks in sorted-name order (the
codec's order) and turn the result back into a delta with the honest delta's shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from trainer.attacks.base import Delta

__all__ = ["flat_stack", "unflat", "with_noise"]


def flat_stack(deltas: Sequence[Mapping[str, torch.Tensor]]) -> torch.Tensor:
    """``[k, D]`` float64: each delta's tensors concatenated in sorted-name order."""
    return torch.stack([torch.cat([d[n].reshape(-1).to(torch.float64) for n in sorted(d)])
                        for d in deltas])


def unflat(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Delta:
    """Split a flat vector back into float32 tensors shaped as ``like`` (sorted names)."""
    out: Delta = {}
    begin = 0
    for name in sorted(like):
        size = like[name].numel()
        out[name] = vector[begin:begin + size].reshape(like[name].shape).to(torch.float32)
        begin += size
    return out


def with_noise(vector: torch.Tensor, relative: float, seed: int) -> torch.Tensor:
    """``vector`` plus Gaussian noise of ``relative`` times its RMS per coordinate.

    Colluders sending one crafted vector each add their own small noise, so no two of them are
    bit-identical and a duplicate hash does not catch them (issue 14).
    """
    if relative == 0:
        return vector
    rms = float(vector.norm()) / max(1, vector.numel()) ** 0.5
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(vector.shape, generator=generator, dtype=torch.float64)
    return vector + relative * rms * noise
