"""Update compression: int8 quantisation, or top-k with error feedback.

Both decode to float32 *exactly the same way on every machine*, so the robust rule, the scoring
and every verifier see bit-identical rows.

* **int8**: per block of :data:`~fedmarket.compression_spec.INT8_BLOCK` consecutive values of a
  tensor, ``scale = max|x| / 127`` (float32) and ``q = round(x / scale)`` in ``[-127, 127]``;
  decoded as ``q * scale`` — one correctly rounded IEEE float32 multiplication of two exact
  float32 operands per value, no sum and no fused operation, so the same bits on any CPU or GPU
  and any thread count, whether a whole tensor or a chunk of it is decoded. About 4x smaller.
* **top-k**: the ``k = ceil(fraction * D)`` coordinates of largest magnitude (ties broken by the
  lower index, so the choice is deterministic), sent as ``(index, value)`` pairs; decoded by
  scattering the values into zeros — exact (no arithmetic at all). The trainer keeps what it
  did not send (the residual) and adds it to its next round's update (*error feedback*, Stich
  et al. 2018), so nothing is lost, only delayed. ``fraction = 0.01`` is about 50x smaller.

:func:`compress` and :func:`decompress` are the two halves; :class:`ErrorFeedback` is the
trainer's memory for top-k. The accuracy each costs is measured by ``bench/compression.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from fedmarket.compression_spec import INT8_BLOCK, Compression, topk_count
from fedmarket.errors import CodecError

__all__ = ["Compression", "Compressed", "compress", "decompress", "dequantise", "ErrorFeedback",
           "compressed_bytes", "int8_blocks", "topk_count"]

Delta = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Compressed:
    """One tensor as sent: int8 values and a scale, or top-k indices and values."""

    shape: tuple[int, ...]
    values: torch.Tensor  # int8 (int8) or float32 (top-k)
    scales: torch.Tensor | None = None  # int8 only: float32, one per INT8_BLOCK values
    indices: torch.Tensor | None = None  # top-k only: int64 flat indices, ascending


def int8_blocks(size: int) -> int:
    """Scales an int8 tensor of ``size`` values carries."""
    return -(-size // INT8_BLOCK)


def _int8(tensor: torch.Tensor) -> Compressed:
    flat = tensor.detach().reshape(-1).to(torch.float32)
    size, blocks = flat.numel(), int8_blocks(flat.numel())
    padded = torch.zeros(blocks * INT8_BLOCK, dtype=torch.float32)
    padded[:size] = flat
    grid = padded.view(blocks, INT8_BLOCK)
    scales = grid.abs().amax(dim=1) / 127.0
    scales = torch.where(scales > 0, scales, torch.ones_like(scales))
    q = torch.round(grid / scales[:, None]).clamp_(-127, 127).to(torch.int8)
    return Compressed(tuple(tensor.shape), q.view(-1)[:size].clone(), scales=scales)


def dequantise(q: torch.Tensor, scales: torch.Tensor, first: int = 0) -> torch.Tensor:
    """float32 values of int8 codes ``q`` that start at value ``first`` of their tensor.

    ``first`` must be a multiple of INT8_BLOCK, so a stream may decode a tensor chunk by chunk
    with the same bits as all at once (each value is its own single multiplication).
    """
    assert first % INT8_BLOCK == 0
    size, blocks = q.numel(), int8_blocks(q.numel())
    grid = torch.zeros(blocks * INT8_BLOCK, dtype=torch.float32)
    grid[:size] = q.reshape(-1)
    start = first // INT8_BLOCK
    grid.view(blocks, INT8_BLOCK).mul_(scales[start:start + blocks, None])
    return grid[:size]


def _topk(tensor: torch.Tensor, fraction: float) -> Compressed:
    flat = tensor.detach().reshape(-1).to(torch.float32)
    k = topk_count(fraction, flat.numel())
    # Deterministic: order by |x| descending, then index ascending (a stable sort).
    order = torch.sort(flat.abs(), descending=True, stable=True).indices[:k]
    indices = torch.sort(order).values
    return Compressed(tuple(tensor.shape), flat[indices].clone(), indices=indices)


def compress(delta: Delta, how: Compression) -> dict[str, Compressed]:
    """Each tensor of ``delta`` compressed as ``how`` says (``none``: refused, send floats)."""
    if how.kind == "int8":
        return {name: _int8(delta[name]) for name in sorted(delta)}
    if how.kind == "topk":
        return {name: _topk(delta[name], how.fraction) for name in sorted(delta)}
    raise CodecError("compression 'none' sends the float32 tensors themselves")


def decompress(parts: Mapping[str, Compressed]) -> dict[str, torch.Tensor]:
    """The float32 tensors the rule and the verifiers see (bit-identical everywhere)."""
    out: dict[str, torch.Tensor] = {}
    for name in sorted(parts):
        part = parts[name]
        size = math.prod(part.shape)
        if part.indices is None:
            scales = part.scales
            if (part.values.dtype != torch.int8 or part.values.numel() != size
                    or scales is None or scales.dtype != torch.float32
                    or scales.numel() != int8_blocks(size)):
                raise CodecError(f"int8 tensor {name!r} is malformed")
            out[name] = dequantise(part.values.reshape(-1), scales).reshape(part.shape)
        else:
            idx = part.indices
            if (idx.dtype != torch.int64 or idx.numel() != part.values.numel()
                    or (idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= size))
                    or (idx.numel() > 1 and not bool((idx[1:] > idx[:-1]).all()))):
                raise CodecError(f"top-k tensor {name!r} has bad indices (must be ascending, "
                                 f"unique, below {size})")
            flat = torch.zeros(size, dtype=torch.float32)
            flat[idx] = part.values.to(torch.float32)
            out[name] = flat.reshape(part.shape)
    return out


def compressed_bytes(parts: Mapping[str, Compressed]) -> int:
    """Payload bytes of the compressed tensors (values, indices, scales)."""
    total = 0
    for part in parts.values():
        total += part.values.numel() * part.values.element_size()
        total += 4 * (part.scales.numel() if part.scales is not None else 0)
        total += 0 if part.indices is None else part.indices.numel() * 4  # int32 on the wire
    return total


@dataclass
class ErrorFeedback:
    """A top-k trainer's residual: what it computed but has not sent yet, by tensor name."""

    residual: dict[str, torch.Tensor] = field(default_factory=dict)

    def step(self, delta: Delta, how: Compression) -> dict[str, Compressed]:
        """Compress ``delta`` plus the residual; keep what was left out for next time."""
        if how.kind != "topk":
            return compress(delta, how)
        corrected = {n: delta[n].detach().to(torch.float32)
                     + self.residual.get(n, torch.zeros_like(delta[n], dtype=torch.float32))
                     for n in sorted(delta)}
        parts = compress(corrected, how)
        sent = decompress(parts)
        self.residual = {n: corrected[n] - sent[n] for n in corrected}
        return parts
