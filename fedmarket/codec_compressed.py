"""Compressed update files: int8 codes with per-block scales, or top-k indices with values.

A project whose spec declares ``compression`` (:mod:`fedmarket.compression_spec`) receives its
updates in that form; the update header's ``compression`` field says which, and a file whose
form is not the project's is refused (:func:`check_form`), so it is rejected like any other
malformed update before the round pays anyone. Each float32 tensor ``NAME`` of the spec becomes
two safetensors entries:

* int8: ``NAME.q`` (I8, one code in [-127, 127] per value, flat) and ``NAME.scales`` (F32, one
  per :data:`~fedmarket.compression_spec.INT8_BLOCK` values);
* top-k: ``NAME.idx`` (I32, strictly ascending flat positions) and ``NAME.val`` (F32, finite), as
  many as ``ceil(fraction * size)`` (:func:`~fedmarket.compression_spec.topk_count`).

The file is plain safetensors laid out as the library lays out mixed dtypes (4-byte entries
first, then the int8 codes, each group in name order; a test holds the bytes to
``safetensors.torch.save``'s). :func:`read_packed` decodes one straight into the caller's flat
float32 row, chunk by chunk, with the very arithmetic :func:`fedmarket.compression.decompress`
uses — int8: one float32 multiplication ``q * scale`` per value; top-k: a scatter, no arithmetic
— so the aggregator, every verifier and the audit see the same bits whatever their device or
thread count. Memory: the row, one chunk of codes, and for top-k the values sent (the
compressed payload's size), never a second float32 copy of the update.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np
import torch

from fedmarket.codec import (
    DTYPE_BYTES,
    METADATA_KEY,
    PACKED_ENTRIES,
    Expect,
    UpdateHeader,
    expected_shapes,
    header_body,
)
from fedmarket.compression import Compressed, dequantise, int8_blocks
from fedmarket.compression_spec import INT8_BLOCK, topk_count
from fedmarket.errors import CodecError
from fedmarket.modelspec import ModelSpec

__all__ = ["packed_tensors", "write_compressed", "read_packed", "check_form",
           "compressed_file_size"]

#: int8 codes decoded per step: 256 blocks (1M values, 4 MB of float32 temporaries).
CHUNK_VALUES = 256 * INT8_BLOCK
_NP = {"F32": np.float32, "I32": np.int32, "I8": np.int8}
_ST = {torch.float32: "F32", torch.int32: "I32", torch.int8: "I8"}

Layout = Mapping[str, tuple[tuple[int, ...], tuple[int, int]]]


def check_form(header: UpdateHeader, spec: Expect) -> None:
    """Refuse an update whose form is not the one the project's spec declares."""
    if isinstance(spec, ModelSpec) and header.compression != spec.update_form:
        raise CodecError(f"update is {_say(header.compression)}, the project's spec declares "
                         f"{_say(spec.update_form)} updates")


def _say(form: str) -> str:
    return {"none": "uncompressed float32", "int8": "int8-quantised",
            "topk": "top-k sparse"}[form]


def packed_tensors(parts: Mapping[str, Compressed]) -> dict[str, torch.Tensor]:
    """The safetensors entries of compressed tensors (indices as int32, values flat)."""
    out: dict[str, torch.Tensor] = {}
    for name, part in parts.items():
        if part.indices is None:
            assert part.scales is not None
            out[name + ".q"] = part.values.reshape(-1).to(torch.int8).contiguous()
            out[name + ".scales"] = part.scales.to(torch.float32).contiguous()
        else:
            out[name + ".idx"] = part.indices.to(torch.int32).contiguous()
            out[name + ".val"] = part.values.reshape(-1).to(torch.float32).contiguous()
    return out


def _data_order(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Safetensors' order: dtype descending (F32, I32, I8), then name."""
    rank = {"F32": 0, "I32": 1, "I8": 2}
    return sorted(tensors, key=lambda n: (rank[_ST[tensors[n].dtype]], n))


def _header(tensors: Mapping[str, torch.Tensor], header: UpdateHeader) -> bytes:
    entries: dict[str, object] = {"__metadata__": {METADATA_KEY: header_body("update", header)}}
    offset = 0
    for name in _data_order(tensors):
        size = tensors[name].numel() * tensors[name].element_size()
        entries[name] = {"dtype": _ST[tensors[name].dtype], "shape": list(tensors[name].shape),
                         "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode()
    return text + b" " * (-len(text) % 8)


def compressed_file_size(parts: Mapping[str, Compressed], header: UpdateHeader) -> int:
    """Bytes :func:`write_compressed` writes."""
    tensors = packed_tensors(parts)
    return 8 + len(_header(tensors, header)) + sum(
        t.numel() * t.element_size() for t in tensors.values())


def write_compressed(out: BinaryIO, parts: Mapping[str, Compressed], header: UpdateHeader,
                     spec: Expect = None) -> int:
    """Write a compressed update file to ``out``; returns the bytes written.

    The header's form, the spec hash and the entries' names and shapes (with a ModelSpec, the
    top-k count too) are checked first, so nothing is written that the aggregator would refuse
    for its layout.
    """
    if header.compression == "none":
        raise CodecError("a compressed update's header must say its form (int8 or topk)")
    forms = {"int8" if p.indices is None else "topk" for p in parts.values()}
    if forms != {header.compression}:
        raise CodecError(f"the header says {header.compression}, the tensors are {sorted(forms)}")
    if isinstance(spec, ModelSpec) and header.spec_hash != spec.hash():
        raise CodecError(f"update header spec_hash {header.spec_hash} is not the spec's hash "
                         f"{spec.hash()}")
    check_form(header, spec)
    tensors = packed_tensors(parts)
    head = _header(tensors, header)
    shapes = expected_shapes(spec) or {n: p.shape for n, p in parts.items()}
    _check_entries(header.compression, {n: (tuple(t.shape), (0, 0)) for n, t in tensors.items()},
                   shapes, spec)
    written = out.write(struct.pack("<Q", len(head))) + out.write(head)
    for name in _data_order(tensors):
        written += out.write(memoryview(tensors[name].numpy()).cast("B"))  # type: ignore[arg-type]
    return written


def _check_entries(form: str, layout: Layout, shapes: Mapping[str, tuple[int, ...]],
                   spec: Expect) -> None:
    """Names and shapes of the packed entries against the model's tensors."""
    fraction = (spec.compression.fraction if isinstance(spec, ModelSpec)
                and spec.compression is not None else None)
    expected: dict[str, tuple[int, ...] | None] = {}
    for name, shape in shapes.items():
        size = math.prod(shape)
        if form == "int8":
            expected[name + ".q"] = (size,)
            expected[name + ".scales"] = (int8_blocks(size),)
        else:
            k = topk_count(fraction, size) if fraction is not None else None
            expected[name + ".idx"] = (k,) if k is not None else None
            expected[name + ".val"] = (k,) if k is not None else None
    missing = sorted(set(expected) - set(layout))
    extra = sorted(set(layout) - set(expected))
    if missing or extra:
        raise CodecError(f"{form} update entries do not match the model: missing {missing}, "
                         f"unexpected {extra}")
    for entry, want in expected.items():
        found = layout[entry][0]
        if want is not None and found != want:
            raise CodecError(f"{form} update entry {entry!r} has shape {found}, the model and "
                             f"compression need {want}")
        if want is None and (len(found) != 1 or found[0] > math.prod(shapes[entry[:-4]])):
            raise CodecError(f"top-k entry {entry!r} has shape {found}")
    if form == "topk":
        for name in shapes:
            if layout[name + ".idx"][0] != layout[name + ".val"][0]:
                raise CodecError(f"top-k tensor {name!r} has {layout[name + '.idx'][0]} indices "
                                 f"but {layout[name + '.val'][0]} values")


def read_packed(stream: BinaryIO, form: str, layout: Layout, out: torch.Tensor,
                shapes: Mapping[str, tuple[int, ...]], spec: Expect) -> None:
    """Decode a compressed update's data section from ``stream`` into the flat row ``out``."""
    _check_entries(form, layout, shapes, spec)
    flat_offset, position = {}, 0
    for name in sorted(shapes):
        flat_offset[name] = position
        position += math.prod(shapes[name])
    suffixes = PACKED_ENTRIES[form]
    held: dict[str, np.ndarray] = {}  # the small F32 entries (scales, or top-k values)
    if form == "topk":
        out.zero_()
    at = 0
    for entry, (shape, (start, stop)) in sorted(layout.items(), key=lambda e: e[1][1][0]):
        if start != at:
            raise CodecError(f"update entry {entry!r} starts at byte {start} of the data "
                             f"section, expected {at} (gaps and overlaps are refused)")
        at = stop
        suffix = next(s for s in suffixes if entry.endswith(s))
        name = entry[: -len(suffix)]
        count = math.prod(shape)
        if suffixes[suffix] == "F32":
            held[entry] = _read_array(stream, "F32", count, entry)
            continue
        partner = name + (".scales" if form == "int8" else ".val")
        if partner not in held:
            raise CodecError(f"update entry {entry!r} comes before {partner!r}")
        row = out[flat_offset[name]: flat_offset[name] + math.prod(shapes[name])]
        if form == "int8":
            _read_int8(stream, entry, torch.from_numpy(held.pop(partner)), row)
        else:
            _read_topk(stream, entry, torch.from_numpy(held.pop(partner)), row)
    if held:
        raise CodecError(f"update entries {sorted(held)} have no codes or indices to go with")


def _read_int8(stream: BinaryIO, entry: str, scales: torch.Tensor, row: torch.Tensor) -> None:
    if not bool(torch.isfinite(scales).all()) or not bool((scales > 0).all()):
        raise CodecError(f"int8 entry {entry!r}: every scale must be finite and > 0")
    for first in range(0, row.numel(), CHUNK_VALUES):
        n = min(CHUNK_VALUES, row.numel() - first)
        q = torch.from_numpy(_read_array(stream, "I8", n, entry))
        if n and int(q.min()) < -127:
            raise CodecError(f"int8 entry {entry!r} holds -128; codes are in [-127, 127]")
        row[first:first + n] = dequantise(q, scales, first)


def _read_topk(stream: BinaryIO, entry: str, values: torch.Tensor, row: torch.Tensor) -> None:
    previous, done = -1, 0
    while done < values.numel():
        n = min(CHUNK_VALUES, values.numel() - done)
        idx = torch.from_numpy(_read_array(stream, "I32", n, entry)).to(torch.int64)
        if (int(idx[0]) <= previous or int(idx[-1]) >= row.numel()
                or (n > 1 and not bool((idx[1:] > idx[:-1]).all()))):
            raise CodecError(f"top-k entry {entry!r} has bad indices (must be strictly "
                             f"ascending and below {row.numel()})")
        row[idx] = values[done:done + n]
        previous, done = int(idx[-1]), done + n


def _read_array(stream: BinaryIO, dtype: str, count: int, entry: str) -> np.ndarray:
    target = np.empty(count, dtype=_NP[dtype])
    view = memoryview(target).cast("B")  # type: ignore[arg-type]
    done = 0
    while done < count * DTYPE_BYTES[dtype]:
        got = stream.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            raise CodecError(f"file is truncated inside update entry {entry!r}")
        done += got
    return target
