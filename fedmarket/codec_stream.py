"""Model and update files written and read as streams: one tensor in memory at a time, at most.

:mod:`fedmarket.codec` builds and parses whole files as ``bytes``: fine for the small models,
but for an update of 100M parameters (400 MB) decoding held the file, the library's tensors,
the flattened vector and the aggregator's row at once — four copies. Here:

* :func:`write_file` writes exactly the bytes :func:`fedmarket.codec.encode_update` /
  ``encode_model`` would (same CID; a test holds the two together) straight to a stream, each
  tensor's memory handed to ``write`` without a copy;
* :func:`read_into` reads a file from a stream straight into a caller's flat float32 vector —
  for the aggregator, its row of the ``[N, D]`` stack — checking the framing, the header, the
  names and shapes against the spec *before* it reads a byte of tensor data, and every value's
  finiteness chunk by chunk. The only allocation is the row the caller owns.

All tensors are float32, and safetensors lays same-dtype tensors out in name order, so a file's
data section *is* the flattened vector (:func:`fedmarket.codec.flatten` concatenates in sorted
name order); files laid out otherwise are still read, each tensor into its own slice.
Compressed updates (int8 or top-k, :mod:`fedmarket.codec_compressed`) are read by the same
:func:`read_into`, decoded chunk by chunk into the row; :func:`store_compressed` stores one.
"""

from __future__ import annotations

import json
import math
import struct
import tempfile
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np
import torch

from fedmarket.codec import (
    HEADER_TYPES,
    MAX_HEADER_BYTES,
    METADATA_KEY,
    Expect,
    ModelHeader,
    UpdateHeader,
    check_tensors,
    expected_shapes,
    first_non_finite,
    header_body,
    parse_header_json,
    unflatten,
    update_form,
)
from fedmarket.codec_compressed import check_form, read_packed, write_compressed
from fedmarket.compression import Compressed
from fedmarket.errors import CodecError
from fedmarket.modelspec import ModelSpec
from fedmarket.storage.base import ContentStore

__all__ = ["write_file", "read_into", "file_size", "store_file", "store_compressed",
           "load_file"]

#: Files up to this size are spooled in memory before storing, larger ones in a temporary file.
SPOOL_BYTES = 64 * 1024 * 1024

def _header_bytes(kind: str, shapes: Mapping[str, tuple[int, ...]],
                  header: UpdateHeader | ModelHeader) -> bytes:
    """The safetensors header exactly as the library writes it.

    Metadata first, then the tensors in name order, compact JSON, padded with spaces to a
    multiple of 8 bytes.
    """
    entries: dict[str, object] = {"__metadata__": {METADATA_KEY: header_body(kind, header)}}
    offset = 0
    for name in sorted(shapes):
        size = 4 * math.prod(shapes[name])
        entries[name] = {"dtype": "F32", "shape": list(shapes[name]),
                         "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode()
    return text + b" " * (-len(text) % 8)


def file_size(kind: str, tensors: Mapping[str, torch.Tensor],
              header: UpdateHeader | ModelHeader) -> int:
    """Bytes :func:`write_file` will write (the file's length)."""
    shapes = {n: tuple(t.shape) for n, t in tensors.items()}
    return 8 + len(_header_bytes(kind, shapes, header)) + sum(
        4 * t.numel() for t in tensors.values())


def write_file(out: BinaryIO, kind: str, tensors: Mapping[str, torch.Tensor],
               header: UpdateHeader | ModelHeader, spec: Expect = None) -> int:
    """Write a ``kind`` ("update" or "model") file to ``out``; returns the bytes written.

    The same checks as the in-memory encoder run first (float32, finite, the spec's names and
    shapes, the spec's hash), so nothing is written for tensors that could not be decoded.
    """
    if not isinstance(header, HEADER_TYPES[kind]):
        raise CodecError(f"a {kind} needs a {HEADER_TYPES[kind].__name__}, got {header!r}")
    check_tensors(kind, tensors, spec)
    if isinstance(spec, ModelSpec) and header.spec_hash != spec.hash():
        raise CodecError(
            f"{kind} header spec_hash {header.spec_hash} is not the spec's hash {spec.hash()}")
    head = _header_bytes(kind, {n: tuple(t.shape) for n, t in tensors.items()}, header)
    written = out.write(struct.pack("<Q", len(head))) + out.write(head)
    for name in sorted(tensors):
        array = tensors[name].detach().to("cpu").contiguous().numpy()
        written += out.write(memoryview(array).cast("B"))  # type: ignore[arg-type]  # no copy of the tensor's bytes
    return written


def read_into(stream: BinaryIO, kind: str, out: torch.Tensor, spec: Expect,
              ) -> UpdateHeader | ModelHeader:
    """Read a ``kind`` file from ``stream`` into ``out`` (1-D float32, the flattened tensors).

    ``spec`` (a ModelSpec or a name → shape mapping) is required: it says how long ``out`` is
    and where each tensor goes. Raises :class:`CodecError` naming the first problem: framing,
    header, kind, names, shapes, spec hash, truncation, trailing bytes or a non-finite value.
    """
    shapes = expected_shapes(spec)
    if shapes is None:
        raise CodecError("reading into a vector needs a model spec or a name -> shape mapping")
    total = sum(math.prod(s) for s in shapes.values())
    if out.dtype != torch.float32 or out.dim() != 1 or out.numel() != total:
        raise CodecError(f"the target must be a 1-D float32 vector of {total} values, got "
                         f"{out.dtype} of shape {tuple(out.shape)}")
    found_kind, header, layout = _read_header(stream)
    if found_kind != kind:
        raise CodecError(f"expected a {kind} file, this one is a {found_kind}")
    if update_form(header) != "none":
        _check_spec(kind, header, spec)
        read_packed(stream, update_form(header), layout, out, shapes, spec)
        _check_end(stream, kind, out, shapes)
        return header
    found = {name: shape for name, (shape, _) in layout.items()}
    if found != dict(shapes):
        missing = sorted(set(shapes) - set(found))
        extra = sorted(set(found) - set(shapes))
        wrong = sorted(n for n in set(found) & set(shapes) if found[n] != tuple(shapes[n]))
        raise CodecError(f"{kind} tensors do not match the model: missing {missing}, "
                         f"unexpected {extra}, wrong shape {wrong}")
    _check_spec(kind, header, spec)
    flat_offset, position = {}, 0
    for name in sorted(shapes):
        flat_offset[name] = position
        position += math.prod(shapes[name])
    target = out.numpy()  # shares memory with ``out``
    at = 0
    for name, (shape, (start, stop)) in sorted(layout.items(), key=lambda e: e[1][1][0]):
        if start != at:
            raise CodecError(f"{kind} tensor {name!r} starts at byte {start} of the data "
                             f"section, expected {at} (gaps and overlaps are refused)")
        first = flat_offset[name]
        _read_exact(stream, target[first:first + math.prod(shape)], kind, name)
        at = stop
    _check_end(stream, kind, out, shapes)
    return header


def _check_spec(kind: str, header: UpdateHeader | ModelHeader, spec: Expect) -> None:
    """The file was made for this spec, and an update is in the form the spec declares."""
    if isinstance(spec, ModelSpec) and header.spec_hash != spec.hash():
        raise CodecError(f"{kind} was made for model spec {header.spec_hash}, "
                         f"this project's spec is {spec.hash()}")
    if isinstance(header, UpdateHeader):
        check_form(header, spec)


def _check_end(stream: BinaryIO, kind: str, out: torch.Tensor,
               shapes: Mapping[str, tuple[int, ...]]) -> None:
    """No trailing bytes, and every decoded value finite (named by its tensor)."""
    if stream.read(1):
        raise CodecError(f"{kind} file has unexpected trailing bytes after its tensors")
    index = first_non_finite(out)
    if index is not None:
        position, name = 0, ""
        for name in sorted(shapes):
            position += math.prod(shapes[name])
            if index < position:
                break
        raise CodecError(f"{kind} tensor {name!r} has a non-finite value (NaN/Inf)")


def _read_header(stream: BinaryIO) -> tuple[
        str, UpdateHeader | ModelHeader, dict[str, tuple[tuple[int, ...], tuple[int, int]]]]:
    prefix = stream.read(8)
    if len(prefix) < 8:
        raise CodecError(f"file is truncated: {len(prefix)} bytes, too short for a safetensors "
                         "header")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES:
        raise CodecError(f"safetensors header claims {length} bytes, more than the limit "
                         f"{MAX_HEADER_BYTES}")
    text = stream.read(length)
    if len(text) < length:
        raise CodecError(f"file is truncated: header claims {length} bytes, only {len(text)} "
                         "follow")
    return parse_header_json(text)


def _read_exact(stream: BinaryIO, target: np.ndarray, kind: str, name: str) -> None:
    """Fill ``target`` from the stream (readinto: straight into its memory)."""
    view = memoryview(target).cast("B")  # type: ignore[arg-type]
    done = 0
    while done < len(view):
        got = stream.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            raise CodecError(f"file is truncated inside {kind} tensor {name!r}")
        done += got


def store_file(store: ContentStore, kind: str, tensors: Mapping[str, torch.Tensor],
               header: UpdateHeader | ModelHeader, spec: Expect = None) -> str:
    """Write the file into the store through a spool; returns its CID.

    The spool stays in memory below :data:`SPOOL_BYTES` and goes to disk above it; the CID is
    the one of the in-memory encoder's bytes, which these are.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        write_file(spool, kind, tensors, header, spec)  # type: ignore[arg-type]
        spool.seek(0)
        return store.put(spool)  # type: ignore[arg-type]


def store_compressed(store: ContentStore, parts: Mapping[str, Compressed],
                     header: UpdateHeader, spec: Expect = None) -> str:
    """Store a compressed update (:mod:`fedmarket.codec_compressed`); returns its CID."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        write_compressed(spool, parts, header, spec)  # type: ignore[arg-type]
        spool.seek(0)
        return store.put(spool)  # type: ignore[arg-type]


def load_file(store: ContentStore, cid: str, kind: str, spec: ModelSpec | Mapping[str, tuple[
        int, ...]]) -> tuple[dict[str, torch.Tensor], UpdateHeader | ModelHeader]:
    """Read a stored file into one flat vector; returns views of it by name, and the header."""
    shapes = expected_shapes(spec)
    assert shapes is not None
    flat = torch.empty(sum(math.prod(s) for s in shapes.values()), dtype=torch.float32)
    with store.open(cid) as stream:
        header = read_into(stream, kind, flat, spec)
    return unflatten(flat, spec), header
