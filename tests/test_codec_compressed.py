"""Compressed update files decode to exactly the rows compression promises, or not at all."""

from __future__ import annotations

import io
import json
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from fedmarket.codec import METADATA_KEY, UpdateHeader, decode_update, flatten, header_body
from fedmarket.codec_compressed import CHUNK_VALUES, packed_tensors, write_compressed
from fedmarket.codec_stream import read_into, write_file
from fedmarket.compression import compress, decompress
from fedmarket.compression_spec import Compression
from fedmarket.errors import CodecError
from fedmarket.modelspec import ModelSpec

TRAINER = "0x" + "ab" * 20
INT8 = Compression("int8")
TOPK = Compression("topk", 0.1)


def spec_for(how: Compression | None, hidden: tuple[int, ...] = (256, 256)) -> ModelSpec:
    return ModelSpec("mlp", (64,), 10, hidden=hidden, compression=how)


def delta(spec: ModelSpec, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.randn(s, generator=gen) * 0.01 for n, s in spec.param_shapes().items()}


def header(spec: ModelSpec, form: str | None = None) -> UpdateHeader:
    return UpdateHeader(3, 1, TRAINER, 50, spec.hash(),
                        compression=form if form is not None else spec.update_form)


def encoded(spec: ModelSpec, seed: int = 0) -> tuple[bytes, torch.Tensor]:
    """A compressed update file of ``spec`` and the row :func:`decompress` gives for it."""
    assert spec.compression is not None
    parts = compress(delta(spec, seed), spec.compression)
    out = io.BytesIO()
    write_compressed(out, parts, header(spec), spec)
    return out.getvalue(), flatten(decompress(parts))


def read(data: bytes, spec: ModelSpec) -> torch.Tensor:
    row = torch.full((spec.num_params(),), float("nan"))
    read_into(io.BytesIO(data), "update", row, spec)
    return row


def refusal(data: bytes, spec: ModelSpec) -> str:
    with pytest.raises(CodecError) as info:
        read(data, spec)
    return str(info.value)


@pytest.mark.parametrize("how", [INT8, TOPK])
def test_streamed_decoding_is_bit_identical_to_decompress(how: Compression) -> None:
    spec = spec_for(how)
    data, expected = encoded(spec)

    row = read(data, spec)
    whole, _ = decode_update(data, spec)

    assert torch.equal(row, expected)
    assert torch.equal(flatten(whole), expected)


@pytest.mark.parametrize("how", [INT8, TOPK])
def test_decoding_is_the_same_bits_under_one_and_two_threads(how: Compression) -> None:
    spec = spec_for(how)
    data, _ = encoded(spec, seed=1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = read(data, spec)
        torch.set_num_threads(2)
        two = read(data, spec)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def test_a_tensor_longer_than_one_chunk_decodes_as_a_whole() -> None:
    # 64 * 17000 weights > CHUNK_VALUES: the int8 reader decodes fc1.weight in two chunks.
    spec = spec_for(INT8, hidden=(17000,))
    assert 64 * 17000 > CHUNK_VALUES
    data, expected = encoded(spec)
    assert torch.equal(read(data, spec), expected)


@pytest.mark.parametrize("how", [INT8, TOPK])
def test_the_file_is_what_safetensors_itself_writes(how: Compression) -> None:
    spec = spec_for(how, hidden=(16,))
    parts = compress(delta(spec), how)
    data = io.BytesIO()
    write_compressed(data, parts, header(spec), spec)

    library = st_save(packed_tensors(parts),
                      metadata={METADATA_KEY: header_body("update", header(spec))})

    assert data.getvalue() == library


@pytest.mark.parametrize(("how", "ratio"), [(INT8, 3.9), (TOPK, 4.9)])
def test_a_compressed_update_file_is_smaller_by_its_ratio(how: Compression, ratio: float) -> None:
    spec = spec_for(how)  # 85,002 parameters: the header is a rounding error
    data, _ = encoded(spec)
    plain = io.BytesIO()
    write_file(plain, "update", delta(spec), header(spec, "none"), spec.param_shapes())

    assert len(plain.getvalue()) / len(data) > ratio


def test_an_update_in_another_form_than_the_projects_is_refused() -> None:
    spec = spec_for(INT8)
    plain = io.BytesIO()  # the project's own spec hash, but float32 tensors
    write_file(plain, "update", delta(spec), header(spec, "none"), spec.param_shapes())

    message = refusal(plain.getvalue(), spec)

    assert message == ("update is uncompressed float32, the project's spec declares "
                       "int8-quantised updates")
    with pytest.raises(CodecError, match="declares int8"):
        decode_update(plain.getvalue(), spec)


def test_an_uncompressed_project_refuses_a_compressed_update() -> None:
    plain_spec = spec_for(None)
    parts = compress(delta(plain_spec), INT8)
    out = io.BytesIO()
    write_compressed(out, parts, header(plain_spec, "int8"), plain_spec.param_shapes())

    assert "update is int8-quantised, the project's spec declares uncompressed" in refusal(
        out.getvalue(), plain_spec)


def _rewrite(data: bytes, entry: str, fill: bytes) -> bytes:
    """``data`` with the first bytes of ``entry``'s data replaced by ``fill``."""
    (length,) = struct.unpack("<Q", data[:8])
    start = 8 + length + json.loads(data[8:8 + length])[entry]["data_offsets"][0]
    return data[:start] + fill + data[start + len(fill):]


def test_malformed_codes_scales_and_indices_are_refused() -> None:
    spec8, speck = spec_for(INT8, hidden=(16,)), spec_for(TOPK, hidden=(16,))
    data8, _ = encoded(spec8)
    datak, _ = encoded(speck)

    assert "holds -128" in refusal(_rewrite(data8, "fc1.weight.q", b"\x80"), spec8)
    assert "finite and > 0" in refusal(
        _rewrite(data8, "fc1.bias.scales", struct.pack("<f", 0.0)), spec8)
    assert "finite and > 0" in refusal(
        _rewrite(data8, "fc1.bias.scales", struct.pack("<f", float("inf"))), spec8)
    assert "bad indices" in refusal(_rewrite(datak, "fc1.weight.idx",
                                             struct.pack("<ii", 5, 5)), speck)
    assert "non-finite" in refusal(_rewrite(datak, "fc1.weight.val",
                                            struct.pack("<f", float("nan"))), speck)
    assert "truncated" in refusal(datak[:-3], speck)


def test_a_topk_update_sending_more_values_than_the_fraction_is_refused() -> None:
    spec = spec_for(TOPK, hidden=(16,))
    greedy = compress(delta(spec), Compression("topk", 0.5))  # 5x the declared share
    out = io.BytesIO()
    with pytest.raises(CodecError, match="the model and compression need"):
        write_compressed(out, greedy, header(spec), spec)
    write_compressed(out, greedy, header(spec), spec.param_shapes())  # no spec: no fraction

    assert "the model and compression need" in refusal(out.getvalue(), spec)
