"""Streamed files are byte for byte the in-memory codec's, and read straight into a vector."""

from __future__ import annotations

import io
import json
import struct

import pytest
import torch

from fedmarket.codec import (
    ModelHeader,
    UpdateHeader,
    decode_update,
    encode_model,
    encode_update,
    flatten,
)
from fedmarket.codec_stream import file_size, read_into, write_file
from fedmarket.errors import CodecError
from fedmarket.modelspec import ModelSpec

TRAINER = "0x" + "ab" * 20
SPECS = [ModelSpec(model="mlp", input_shape=(4,), num_classes=3, hidden=(5,)),
         ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(32, 16)),
         ModelSpec(model="cnn", input_shape=(1, 8, 8), num_classes=10, hidden=(4, 8))]


def tensors_for(spec: ModelSpec, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.randn(s, generator=gen) for n, s in spec.param_shapes().items()}


def update_header(spec: ModelSpec) -> UpdateHeader:
    return UpdateHeader(project=7, round=2, trainer=TRAINER, samples=120, spec_hash=spec.hash())


def streamed(kind: str, tensors: dict[str, torch.Tensor], header: object, spec: ModelSpec
             ) -> bytes:
    out = io.BytesIO()
    written = write_file(out, kind, tensors, header, spec)  # type: ignore[arg-type]
    assert written == len(out.getvalue()) == file_size(kind, tensors, header)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("spec", SPECS, ids=["tiny", "mlp", "cnn"])
def test_a_streamed_file_is_the_in_memory_encoders_bytes(spec: ModelSpec, seed: int) -> None:
    tensors = tensors_for(spec, seed)
    header = update_header(spec)
    model_header = ModelHeader(project=7, round=2, spec_hash=spec.hash())

    assert streamed("update", tensors, header, spec) == encode_update(tensors, header, spec)
    assert streamed("model", tensors, model_header, spec) == encode_model(
        tensors, model_header, spec)


@pytest.mark.parametrize("spec", SPECS, ids=["tiny", "mlp", "cnn"])
def test_reading_into_a_vector_gives_the_flattened_tensors_bit_for_bit(spec: ModelSpec) -> None:
    tensors = tensors_for(spec, 3)
    blob = encode_update(tensors, update_header(spec), spec)
    row = torch.empty(spec.num_params())

    header = read_into(io.BytesIO(blob), "update", row, spec)

    assert header == update_header(spec)
    assert torch.equal(row, flatten(decode_update(blob, spec)[0]))


def _relaid(blob: bytes, order: list[str]) -> bytes:
    """The same file with its tensors' data laid out in ``order`` (still valid safetensors)."""
    (length,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8:8 + length])
    data = blob[8 + length:]
    chunks, at = [], 0
    for name in order:
        start, stop = head[name]["data_offsets"]
        chunks.append(data[start:stop])
        head[name]["data_offsets"] = [at, at + stop - start]
        at += stop - start
    text = json.dumps(head, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def test_a_file_laid_out_in_another_order_is_read_into_the_right_slices() -> None:
    spec = SPECS[1]
    tensors = tensors_for(spec, 4)
    blob = _relaid(encode_update(tensors, update_header(spec), spec),
                   sorted(spec.param_shapes(), reverse=True))
    row = torch.empty(spec.num_params())

    read_into(io.BytesIO(blob), "update", row, spec)

    assert torch.equal(row, flatten(tensors))


def _refused(blob: bytes, spec: ModelSpec, kind: str = "update") -> str:
    with pytest.raises(CodecError) as caught:
        read_into(io.BytesIO(blob), kind, torch.empty(spec.num_params()), spec)
    return str(caught.value)


def test_every_defect_is_refused_with_its_name() -> None:
    spec = SPECS[1]
    tensors = tensors_for(spec, 5)
    blob = encode_update(tensors, update_header(spec), spec)
    other = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(32, 16), seed=9)
    poisoned = dict(tensors)
    poisoned["fc2.bias"] = poisoned["fc2.bias"].clone()
    poisoned["fc2.bias"][3] = float("nan")
    # encode refuses NaN, so write the file around the check, as an attacker would.
    nan_blob = _relaid(encode_update(tensors, update_header(spec), spec), sorted(tensors))
    at = nan_blob.index(tensors["fc2.bias"].numpy().tobytes())
    nan_blob = nan_blob[:at] + poisoned["fc2.bias"].numpy().tobytes() + nan_blob[
        at + 4 * tensors["fc2.bias"].numel():]

    assert "truncated inside update tensor" in _refused(blob[:-5], spec)
    assert "trailing bytes" in _refused(blob + b"\0", spec)
    assert "truncated" in _refused(blob[:6], spec)
    assert "'fc2.bias' has a non-finite value" in _refused(nan_blob, spec)
    assert "made for model spec" in _refused(blob, other)
    assert "expected a model file" in _refused(blob, spec, kind="model")
    assert "do not match the model" in _refused(blob, SPECS[0])


def test_gaps_and_overlaps_in_the_data_section_are_refused() -> None:
    spec = SPECS[0]
    blob = encode_update(tensors_for(spec, 6), update_header(spec), spec)
    (length,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8:8 + length])
    first = sorted(spec.param_shapes())[0]
    start, stop = head[first]["data_offsets"]
    head[first]["data_offsets"] = [start + 4, stop + 4]  # a gap before it, an overlap after
    text = json.dumps(head, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)

    assert "gaps and overlaps are refused" in _refused(
        struct.pack("<Q", len(text)) + text + blob[8 + length:] + b"\0" * 4, spec)
