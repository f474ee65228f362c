"""Model and update files: safetensors (never pickle) with a JSON header in its metadata.

A file is the safetensors format (an 8-byte little-endian header length, a JSON header, the raw
tensor bytes) whose ``__metadata__`` holds one key, ``fedmarket``, with our header as canonical
JSON. An *update* is the delta from the round's global model (:class:`UpdateHeader`: project,
round, trainer, sample count, model spec hash); a *model* is the global weights
(:class:`ModelHeader`). Only float32 tensors are accepted, every value must be finite, and when a
:class:`~fedmarket.modelspec.ModelSpec` is given the tensor names and shapes must be exactly
the spec's. Decoding checks the raw safetensors header *before* the library allocates anything,
so a truncated, oversize or hostile file is refused with a message that names the problem.

Encoding is deterministic (same tensors and header → same bytes → same CID).

An update of a project that declares compression is int8 codes or top-k indices instead
(:mod:`fedmarket.codec_compressed`); its header's ``compression`` field says which, and
:func:`decode_update` / :func:`fedmarket.codec_stream.read_into` decode it to float32.

:func:`flatten` / :func:`unflatten` turn a tensor dict into one float32 vector and back, in
sorted-name order; the aggregator stacks updates into ``[N, D]`` with them.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from eth_utils import to_checksum_address
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from fedmarket.compression_spec import COMPRESSION_KINDS
from fedmarket.errors import CodecError
from fedmarket.modelspec import ModelSpec

__all__ = [
    "CODEC_VERSION",
    "DEFAULT_MAX_BYTES",
    "UpdateHeader",
    "ModelHeader",
    "encode_update",
    "decode_update",
    "encode_model",
    "decode_model",
    "read_header",
    "flatten",
    "unflatten",
    "check_tensors",
]

CODEC_VERSION = 1
# 256 MiB: two orders of magnitude above the models we train, small enough that a hostile file
# cannot exhaust a verifier's memory. Callers with bigger models pass max_bytes.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# Our header is ~300 bytes; the safetensors header grows ~80 bytes per tensor.
MAX_HEADER_BYTES = 1024 * 1024
MAX_TENSORS = 4096
METADATA_KEY = "fedmarket"

Shapes = Mapping[str, tuple[int, ...]]
Expect = ModelSpec | Shapes | None

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-f]{64}$")


@dataclass(frozen=True)
class UpdateHeader:
    """Who made an update, for which project round and spec, from how many samples."""

    project: int
    round: int
    trainer: str  # 0x-prefixed address; stored checksummed
    samples: int
    spec_hash: str  # ModelSpec.hash() of the project
    version: int = CODEC_VERSION
    # The update's form (fedmarket.codec_compressed); in the JSON only when not "none", so
    # plain updates keep the bytes and CIDs they had before compression existed.
    compression: str = "none"

    def __post_init__(self) -> None:
        _check_int("project", self.project)
        _check_int("round", self.round)
        _check_int("samples", self.samples)
        if self.compression not in COMPRESSION_KINDS:
            raise CodecError(f"header compression must be one of {list(COMPRESSION_KINDS)}, "
                             f"got {self.compression!r}")
        _check_spec_hash(self.spec_hash)
        _check_version(self.version)
        if not isinstance(self.trainer, str) or not _ADDRESS.match(self.trainer):
            raise CodecError(f"header trainer must be a 0x-prefixed address, got {self.trainer!r}")
        object.__setattr__(self, "trainer", _checksum(self.trainer))


@dataclass(frozen=True)
class ModelHeader:
    """Which project round a global model belongs to (round 0 is the initial model)."""

    project: int
    round: int
    spec_hash: str
    version: int = CODEC_VERSION

    def __post_init__(self) -> None:
        _check_int("project", self.project)
        _check_int("round", self.round)
        _check_spec_hash(self.spec_hash)
        _check_version(self.version)


#: Header fields that may be absent (then at their default) and are written only when not it.
OPTIONAL_FIELDS = {"compression": "none"}


def header_body(kind: str, header: UpdateHeader | ModelHeader) -> str:
    """Our header as canonical JSON (optional fields at their default left out)."""
    body = {"kind": kind, **{k: v for k, v in asdict(header).items()
                             if OPTIONAL_FIELDS.get(k, object()) != v}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def update_form(header: UpdateHeader | ModelHeader) -> str:
    """The form of a file's tensors: "none" (float32), "int8" or "topk"."""
    return header.compression if isinstance(header, UpdateHeader) else "none"


Kind = Literal["model", "update"]
HEADER_TYPES: dict[str, type[UpdateHeader] | type[ModelHeader]] = {
    "update": UpdateHeader,
    "model": ModelHeader,
}


# -- public API ---------------------------------------------------------------------------------


def encode_update(
    tensors: Mapping[str, torch.Tensor], header: UpdateHeader, spec: Expect = None
) -> bytes:
    """Serialise an update (delta tensors + header) to safetensors bytes."""
    return _encode("update", tensors, header, spec)


def decode_update(
    data: bytes, spec: Expect = None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[dict[str, torch.Tensor], UpdateHeader]:
    """Parse and check an update; with ``spec``, names, shapes and spec hash must match it.

    ``spec`` may also be a plain name → shape mapping (e.g. from the global model), in which
    case the spec hash is not checked.
    """
    tensors, header = _decode("update", data, spec, max_bytes)
    assert isinstance(header, UpdateHeader)
    return tensors, header


def encode_model(
    tensors: Mapping[str, torch.Tensor], header: ModelHeader, spec: Expect = None
) -> bytes:
    """Serialise global model weights + header to safetensors bytes."""
    return _encode("model", tensors, header, spec)


def decode_model(
    data: bytes, spec: Expect = None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[dict[str, torch.Tensor], ModelHeader]:
    """Parse and check a global model file; see :func:`decode_update`."""
    tensors, header = _decode("model", data, spec, max_bytes)
    assert isinstance(header, ModelHeader)
    return tensors, header


def read_header(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> UpdateHeader | ModelHeader:
    """Return only the header of a model or update file, without loading its tensors."""
    _, header, _ = _parse_raw(data, max_bytes)
    return header


def flatten(tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Concatenate tensors into one 1-D float32 vector, in sorted-name order."""
    if not tensors:
        raise CodecError("cannot flatten an empty tensor dict")
    parts = [tensors[name].detach().reshape(-1).to(torch.float32) for name in sorted(tensors)]
    return torch.cat(parts)


def unflatten(vec: torch.Tensor, shapes: Expect) -> dict[str, torch.Tensor]:
    """Split a 1-D vector back into named tensors (sorted-name order), the inverse of flatten."""
    expected = expected_shapes(shapes)
    if expected is None:
        raise CodecError("unflatten needs a model spec or a name -> shape mapping")
    if vec.dim() != 1:
        raise CodecError(f"unflatten expects a 1-D vector, got shape {tuple(vec.shape)}")
    total = sum(math.prod(shape) for shape in expected.values())
    if vec.numel() != total:
        raise CodecError(f"vector has {vec.numel()} values, the shapes need {total}")
    out: dict[str, torch.Tensor] = {}
    offset = 0
    for name in sorted(expected):
        shape = expected[name]
        size = math.prod(shape)
        out[name] = vec[offset : offset + size].reshape(shape)
        offset += size
    return out


def check_tensors(kind: str, tensors: Mapping[str, torch.Tensor], spec: Expect = None) -> None:
    """Raise :class:`CodecError` unless every tensor is finite float32 and matches ``spec``."""
    if not tensors:
        raise CodecError(f"{kind} has no tensors")
    if len(tensors) > MAX_TENSORS:
        raise CodecError(f"{kind} has {len(tensors)} tensors, more than the limit {MAX_TENSORS}")
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise CodecError(f"{kind} tensor {name!r} is a {type(tensor).__name__}, not a tensor")
        if tensor.dtype != torch.float32:
            raise CodecError(
                f"{kind} tensor {name!r} has dtype {str(tensor.dtype).removeprefix('torch.')}, "
                "only float32 is accepted"
            )
    _check_shapes(kind, {n: tuple(t.shape) for n, t in tensors.items()}, spec)
    for name in sorted(tensors):
        if first_non_finite(tensors[name]) is not None:
            count = int((~torch.isfinite(tensors[name])).sum())
            raise CodecError(f"{kind} tensor {name!r} has {count} non-finite value(s) (NaN/Inf)")


#: Values checked per step for finiteness: ``isfinite`` makes float temporaries the size of
#: its input, so a whole 100M-parameter tensor at once would cost 400 MB more; this, 4 MB.
FINITE_CHUNK = 1 << 20


def first_non_finite(tensor: torch.Tensor) -> int | None:
    """Index (in the flattened tensor) of its first NaN or infinity, or None if all finite."""
    flat = tensor.detach().reshape(-1)
    for begin in range(0, flat.numel(), FINITE_CHUNK):
        part = flat[begin:begin + FINITE_CHUNK]
        if not bool(torch.isfinite(part).all()):
            return begin + int((~torch.isfinite(part)).nonzero()[0])
    return None


# -- encoding -----------------------------------------------------------------------------------


def _encode(
    kind: Kind,
    tensors: Mapping[str, torch.Tensor],
    header: UpdateHeader | ModelHeader,
    spec: Expect,
) -> bytes:
    if not isinstance(header, HEADER_TYPES[kind]):
        raise CodecError(f"{_a(kind)} needs a {HEADER_TYPES[kind].__name__}, got {header!r}")
    check_tensors(kind, tensors, spec)
    if isinstance(spec, ModelSpec) and header.spec_hash != spec.hash():
        raise CodecError(
            f"{kind} header spec_hash {header.spec_hash} is not the spec's hash {spec.hash()}"
        )
    if update_form(header) != "none":
        raise CodecError("a compressed update is encoded by fedmarket.codec_compressed")
    metadata = {METADATA_KEY: header_body(kind, header)}
    # safetensors wants contiguous CPU tensors; clone so callers' storage is never shared.
    plain = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    return st_save(plain, metadata=metadata)


# -- decoding -----------------------------------------------------------------------------------


def _decode(
    kind: Kind, data: bytes, spec: Expect, max_bytes: int
) -> tuple[dict[str, torch.Tensor], UpdateHeader | ModelHeader]:
    found_kind, header, entries = _parse_raw(data, max_bytes)
    if found_kind != kind:
        raise CodecError(f"expected {_a(kind)} file, this one is {_a(found_kind)}")
    if update_form(header) != "none":  # decoded to float32 by the streamed reader
        from fedmarket.codec_stream import read_into  # noqa: PLC0415 (it imports this module)
        shapes = expected_shapes(spec)
        if shapes is None:
            raise CodecError("decoding a compressed update needs a model spec or shapes")
        flat = torch.empty(sum(math.prod(s) for s in shapes.values()), dtype=torch.float32)
        header = read_into(io.BytesIO(bytes(data)), kind, flat, spec)
        return {n: t.clone() for n, t in unflatten(flat, spec).items()}, header
    _check_shapes(kind, {name: shape for name, (_, shape) in entries.items()}, spec)
    if isinstance(spec, ModelSpec) and header.spec_hash != spec.hash():
        raise CodecError(
            f"{kind} was made for model spec {header.spec_hash}, "
            f"this project's spec is {spec.hash()}"
        )
    if kind == "update" and isinstance(spec, ModelSpec) and spec.update_form != "none":
        raise CodecError(f"update is uncompressed float32, the project's spec declares "
                         f"{spec.update_form} updates")
    try:
        tensors = st_load(bytes(data))
    except (SafetensorError, ValueError, RuntimeError) as exc:  # belt and braces after _parse_raw
        raise CodecError(f"{kind} file is not valid safetensors: {exc}") from exc
    check_tensors(kind, tensors, None)
    return tensors, header


def _parse_raw(
    data: bytes, max_bytes: int
) -> tuple[str, UpdateHeader | ModelHeader, dict[str, tuple[str, tuple[int, ...]]]]:
    """Check the safetensors framing and our header; return kind, header, name -> (dtype, shape)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError(f"expected bytes, got {type(data).__name__}")
    size = len(data)
    if size > max_bytes:
        raise CodecError(f"file is {size} bytes, more than the limit of {max_bytes} bytes")
    if size < 8:
        raise CodecError(f"file is truncated: {size} bytes, too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", bytes(data[:8]))
    if header_len > MAX_HEADER_BYTES:
        raise CodecError(
            f"safetensors header claims {header_len} bytes, more than the limit {MAX_HEADER_BYTES}"
        )
    if 8 + header_len > size:
        raise CodecError(
            f"file is truncated: header claims {header_len} bytes, only {size - 8} follow"
        )
    kind, header, layout = parse_header_json(bytes(data[8 : 8 + header_len]))
    data_len = size - 8 - header_len
    entries: dict[str, tuple[str, tuple[int, ...]]] = {}
    end = 0
    for name, (shape, (_, stop)) in layout.items():
        if stop > data_len:
            raise CodecError(
                f"file is truncated: tensor {name!r} ends at byte {stop} of the data section, "
                f"which has only {data_len} bytes"
            )
        entries[name] = ("F32" if update_form(header) == "none" else "packed", shape)
        end = max(end, stop)
    if end != data_len:
        raise CodecError(
            f"{kind} file has {data_len - end} unexpected trailing byte(s) after its tensors"
        )
    return kind, header, entries


def parse_header_json(text: bytes) -> tuple[
        str, UpdateHeader | ModelHeader, dict[str, tuple[tuple[int, ...], tuple[int, int]]]]:
    """Parse a safetensors header's JSON: kind, our header, name -> (shape, data offsets).

    Every tensor must be float32 and span exactly its shape's bytes; the caller checks the
    offsets against the data it has (a whole file, or a stream).
    """
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CodecError(f"safetensors header is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise CodecError("safetensors header is not a JSON object")
    kind, header = parse_metadata(raw.pop("__metadata__", None))
    if len(raw) > 2 * MAX_TENSORS:  # a compressed update has two entries per tensor
        raise CodecError(f"{kind} has {len(raw)} tensors, more than the limit {MAX_TENSORS}")
    form = update_form(header)
    layout: dict[str, tuple[tuple[int, ...], tuple[int, int]]] = {}
    for name, info in raw.items():
        dtype, shape, (start, stop) = parse_entry(kind, name, info)
        wanted = "F32" if form == "none" else packed_dtype(form, name)
        if dtype != wanted:
            raise CodecError(
                f"{kind} tensor {name!r} has dtype {dtype}, "
                + ("only float32 (F32) is accepted" if form == "none"
                   else f"a {form} update stores it as {wanted}"))
        width = DTYPE_BYTES[dtype]
        if stop - start != width * math.prod(shape):
            raise CodecError(
                f"{kind} tensor {name!r} spans {stop - start} bytes, shape {shape} needs "
                f"{width * math.prod(shape)}"
            )
        layout[name] = (shape, (start, stop))
    return kind, header, layout


#: Bytes per value of the dtypes a file may hold (float32; int32 and int8 in compressed updates).
DTYPE_BYTES = {"F32": 4, "I32": 4, "I8": 1}
#: A compressed update's entries per tensor ``name``: ``name + suffix``, stored as dtype.
PACKED_ENTRIES = {"int8": {".q": "I8", ".scales": "F32"}, "topk": {".idx": "I32", ".val": "F32"}}


def packed_dtype(form: str, entry: str) -> str:
    """The dtype entry ``entry`` of a ``form`` update must have (by its suffix)."""
    for suffix, dtype in PACKED_ENTRIES[form].items():
        if entry.endswith(suffix):
            return dtype
    raise CodecError(f"a {form} update has no entry like {entry!r}: each tensor is stored as "
                     + " and ".join(f"NAME{s}" for s in PACKED_ENTRIES[form]))


def parse_entry(kind: str, name: str, info: Any) -> tuple[str, tuple[int, ...], tuple[int, int]]:
    if not isinstance(info, dict):
        raise CodecError(f"{kind} tensor {name!r} has a malformed safetensors entry")
    dtype = info.get("dtype")
    shape = info.get("shape")
    offsets = info.get("data_offsets")
    if (
        not isinstance(dtype, str)
        or not isinstance(shape, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        or not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise CodecError(f"{kind} tensor {name!r} has a malformed safetensors entry: {info!r}")
    return dtype, tuple(shape), (offsets[0], offsets[1])


def parse_metadata(metadata: Any) -> tuple[str, UpdateHeader | ModelHeader]:
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CodecError(f"file has no fedmarket header (metadata key {METADATA_KEY!r})")
    try:
        body = json.loads(metadata[METADATA_KEY])
    except (TypeError, ValueError) as exc:
        raise CodecError(f"fedmarket header is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise CodecError("fedmarket header is not a JSON object")
    kind = body.pop("kind", None)
    if kind not in HEADER_TYPES:
        raise CodecError(f"fedmarket header kind must be 'model' or 'update', got {kind!r}")
    header_type = HEADER_TYPES[kind]
    allowed = set(header_type.__dataclass_fields__)
    unknown = sorted(set(body) - allowed)
    missing = sorted(allowed - set(body) - set(OPTIONAL_FIELDS))
    if unknown:
        raise CodecError(f"{kind} header has unknown field(s) {unknown}")
    if missing:
        raise CodecError(f"{kind} header is missing field(s) {missing}")
    return kind, header_type(**body)


# -- checks -------------------------------------------------------------------------------------


def expected_shapes(spec: Expect) -> dict[str, tuple[int, ...]] | None:
    if spec is None:
        return None
    if isinstance(spec, ModelSpec):
        return spec.param_shapes()
    return {name: tuple(int(d) for d in shape) for name, shape in spec.items()}


def _check_shapes(kind: str, found: Mapping[str, tuple[int, ...]], spec: Expect) -> None:
    expected = expected_shapes(spec)
    if expected is None:
        return
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing:
        raise CodecError(f"{kind} is missing tensor(s) {missing} that the model spec requires")
    if extra:
        raise CodecError(f"{kind} has tensor(s) {extra} that the model spec does not have")
    for name in sorted(expected):
        if tuple(found[name]) != expected[name]:
            raise CodecError(
                f"{kind} tensor {name!r} has shape {tuple(found[name])}, "
                f"model spec expects {expected[name]}"
            )


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CodecError(f"header {name} must be a non-negative integer, got {value!r}")


def _check_spec_hash(value: Any) -> None:
    if not isinstance(value, str) or not _HASH.match(value):
        raise CodecError(f"header spec_hash must be 0x + 64 lowercase hex digits, got {value!r}")


def _check_version(value: Any) -> None:
    if value != CODEC_VERSION:
        raise CodecError(f"codec version {value!r} is not supported (expected {CODEC_VERSION})")


def _a(kind: str) -> str:
    return f"an {kind}" if kind == "update" else f"a {kind}"


def _checksum(address: str) -> str:
    return str(to_checksum_address(address))
