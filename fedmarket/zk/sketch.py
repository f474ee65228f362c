"""Fixed-point sketches of model updates and their Poseidon commitments.

A sketch is a k-dimensional random projection of a flattened update (Johnson–Lindenstrauss with
Rademacher signs, Achlioptas 2003): squared distances between sketches estimate squared
distances between updates, which is all Multi-Krum needs. Everything after the float update is
integer arithmetic, so every verifier re-derives the same sketch bit for bit:

1. ``fixed_point_update``: each coordinate becomes ``round(x * 2^20)`` (ties to even), clamped
   to ``±2^35``; non-finite values are refused.
2. ``project``: ``s[r] = sum_c sign(seed, r, c) * x_q[c]`` with exact int64 sums. The signs are
   the bits of SHAKE-256(``fedmarket-sketch-v1`` ‖ seed as 32 bytes ‖ D ‖ k): bit ``c`` (LSB
   first) of row ``r``'s ``ceil(D/8)``-byte block, 1 meaning +1. The seed is the round's value
   fixed on chain after the commit phase, so no trainer can aim an update at the projection.
3. ``choose_shift``: one power-of-two scale per round. With ``a_i`` the largest ``|s|`` of
   trainer ``i`` and ``med`` the lower median of the ``a_i``, the shift is the smallest
   ``shift >= 0`` with ``4 * med <= 8191 * 2^shift``: honest updates up to four times the
   typical size keep full resolution, and a minority of huge updates cannot shrink it.
4. ``quantize``: ``v = round(s / 2^shift)`` (ties away from zero), clamped to ``[-8191, 8191]``;
   a clamped coordinate only makes an outlier look less far, never an honest update farther.
5. Encoding for the circuit: ``u = v + 8192`` in ``[1, 16383]`` (14 bits), packed little-end
   first as ``sum_j u_j * 2^(14 j)`` (224 bits, one field element); the commitment is
   circomlib ``Poseidon([packed])``. An empty slot packs to 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from fedmarket.zk.poseidon import poseidon

__all__ = [
    "SKETCH_DIM",
    "SKETCH_BITS",
    "SKETCH_OFFSET",
    "SKETCH_MAX",
    "FRAC_BITS",
    "fixed_point_update",
    "project",
    "choose_shift",
    "quantize",
    "sketch_round",
    "encode",
    "pack",
    "commitment",
    "empty_commitment",
]

SKETCH_DIM = 16                          # k: the round circuits are compiled for this
SKETCH_BITS = 14                         # bits per encoded coordinate
SKETCH_OFFSET = 1 << (SKETCH_BITS - 1)   # the encoding of 0
SKETCH_MAX = SKETCH_OFFSET - 1           # symmetric clamp: |v| <= 8191
FRAC_BITS = 20                           # fixed point of update coordinates
_UPDATE_CLAMP = 1 << 35                  # |x_q| bound: D <= 2^27 keeps every sum in int64
_MAX_DIM = 1 << 27
_HEADROOM = 4                            # honest sketches up to 4x the median magnitude fit
_DOMAIN = b"fedmarket-sketch-v1"


def fixed_point_update(update: np.ndarray) -> np.ndarray:
    """Flatten an update and round it to int64 fixed point with ``FRAC_BITS`` fraction bits."""
    flat = np.asarray(update, dtype=np.float64).reshape(-1)
    if flat.size == 0 or flat.size > _MAX_DIM:
        raise ValueError(f"update must have 1..{_MAX_DIM} coordinates, got {flat.size}")
    if not np.all(np.isfinite(flat)):
        raise ValueError("update has non-finite coordinates")
    scaled = np.rint(flat * float(1 << FRAC_BITS))  # exact: scaling by 2^20 loses nothing
    return np.clip(scaled, -_UPDATE_CLAMP, _UPDATE_CLAMP).astype(np.int64)


def _sign_bits(seed: int, dim: int, k: int) -> np.ndarray:
    if not 0 <= seed < 1 << 256:
        raise ValueError("seed must be a uint256")
    row_bytes = (dim + 7) // 8
    shake = hashlib.shake_256(_DOMAIN + seed.to_bytes(32, "big") + dim.to_bytes(8, "big")
                              + k.to_bytes(2, "big"))
    raw = np.frombuffer(shake.digest(row_bytes * k), dtype=np.uint8).reshape(k, row_bytes)
    return np.unpackbits(raw, axis=1, bitorder="little")[:, :dim].astype(bool)


def project(update_q: np.ndarray, seed: int, k: int = SKETCH_DIM) -> list[int]:
    """Exact integer projection ``s = R x_q`` (R in {-1, +1}^{k x D} from ``seed``)."""
    x = np.asarray(update_q, dtype=np.int64).reshape(-1)
    plus = _sign_bits(seed, x.size, k)
    total = int(x.sum())
    return [2 * int(x[plus[r]].sum()) - total for r in range(k)]


def choose_shift(projections: Sequence[Sequence[int]]) -> int:
    """The round's power-of-two scale (see the module docstring, step 3)."""
    if not projections:
        raise ValueError("no projections to scale")
    magnitudes = sorted(max(abs(v) for v in p) for p in projections)
    median = magnitudes[(len(magnitudes) - 1) // 2]
    shift = 0
    while _HEADROOM * median > SKETCH_MAX * (1 << shift):
        shift += 1
    return shift


def quantize(projection: Sequence[int], shift: int) -> list[int]:
    """Signed fixed-point sketch: ``round(s / 2^shift)`` ties away from zero, clamped."""
    if shift < 0:
        raise ValueError("shift must be >= 0")
    out = []
    for s in projection:
        magnitude = (abs(int(s)) + ((1 << shift) >> 1)) >> shift
        clamped = min(magnitude, SKETCH_MAX)
        out.append(clamped if s >= 0 else -clamped)
    return out


def sketch_round(updates: Sequence[np.ndarray], seed: int,
                 k: int = SKETCH_DIM) -> tuple[list[list[int]], int]:
    """Encoded sketches (``u = v + 8192``) of one round's updates, and the shift used."""
    projections = [project(fixed_point_update(u), seed, k) for u in updates]
    shift = choose_shift(projections)
    return [encode(quantize(p, shift)) for p in projections], shift


def encode(signed: Sequence[int]) -> list[int]:
    """Offset-encode a signed sketch into the circuit's unsigned 14-bit coordinates."""
    if any(abs(v) > SKETCH_MAX for v in signed):
        raise ValueError(f"sketch coordinates must lie in [-{SKETCH_MAX}, {SKETCH_MAX}]")
    return [int(v) + SKETCH_OFFSET for v in signed]


def pack(encoded: Sequence[int]) -> int:
    """One field element holding a whole encoded sketch (coordinate 0 in the low bits)."""
    if len(encoded) != SKETCH_DIM:
        raise ValueError(f"a sketch has {SKETCH_DIM} coordinates, got {len(encoded)}")
    if any(not 0 <= u < 1 << SKETCH_BITS for u in encoded):
        raise ValueError(f"encoded coordinates must lie in [0, 2^{SKETCH_BITS})")
    return sum(int(u) << (SKETCH_BITS * j) for j, u in enumerate(encoded))


def commitment(encoded: Sequence[int]) -> int:
    """Poseidon commitment of one encoded sketch, as the circuit computes it."""
    return poseidon([pack(encoded)])


def empty_commitment() -> int:
    """Commitment of an empty slot (slots at or past the round's trainer count)."""
    return poseidon([0])
