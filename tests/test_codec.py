import json
import struct
from typing import Any

import pytest
import torch
from safetensors.torch import save as st_save

from fedmarket.codec import (
    CODEC_VERSION,
    ModelHeader,
    UpdateHeader,
    decode_model,
    decode_update,
    encode_model,
    encode_update,
    flatten,
    read_header,
    unflatten,
)
from fedmarket.errors import CodecError
from fedmarket.modelspec import ModelSpec

TRAINER = "0x" + "ab" * 20


@pytest.fixture
def spec() -> ModelSpec:
    return ModelSpec(model="mlp", input_shape=(4,), num_classes=3, hidden=(5,))


@pytest.fixture
def tensors(spec: ModelSpec) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {n: torch.randn(s, generator=gen) for n, s in spec.param_shapes().items()}


@pytest.fixture
def header(spec: ModelSpec) -> UpdateHeader:
    return UpdateHeader(project=7, round=2, trainer=TRAINER, samples=120, spec_hash=spec.hash())


def header_body(spec: ModelSpec, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "update",
        "project": 7,
        "round": 2,
        "trainer": TRAINER,
        "samples": 120,
        "spec_hash": spec.hash(),
        "version": CODEC_VERSION,
    }
    body.update(overrides)
    return body


def raw_file(tensors: dict[str, torch.Tensor], body: dict[str, Any] | None) -> bytes:
    """A safetensors file written around our encoder, to build what it would refuse."""
    metadata = None if body is None else {"fedmarket": json.dumps(body)}
    return st_save(tensors, metadata=metadata)


# -- round trips ---------------------------------------------------------------------------------


def test_update_round_trip(spec, tensors, header) -> None:
    decoded, got = decode_update(encode_update(tensors, header, spec), spec)

    assert got == header
    assert decoded.keys() == tensors.keys()
    assert all(torch.equal(decoded[n], tensors[n]) for n in tensors)


def test_model_round_trip(spec, tensors) -> None:
    header = ModelHeader(project=7, round=0, spec_hash=spec.hash())

    decoded, got = decode_model(encode_model(tensors, header, spec), spec)

    assert got == header
    assert all(torch.equal(decoded[n], tensors[n]) for n in tensors)


def test_encoding_is_deterministic(tensors, header) -> None:
    shuffled = dict(reversed(list(tensors.items())))

    assert encode_update(tensors, header) == encode_update(shuffled, header)


def test_trainer_address_is_checksummed(spec) -> None:
    header = UpdateHeader(
        project=1,
        round=1,
        trainer=TRAINER.upper().replace("0X", "0x"),
        samples=1,
        spec_hash=spec.hash(),
    )

    assert header.trainer == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"


def test_decode_against_plain_shapes(tensors, header) -> None:
    shapes = {n: tuple(t.shape) for n, t in tensors.items()}

    decoded, _ = decode_update(encode_update(tensors, header), shapes)

    assert decoded.keys() == shapes.keys()


def test_read_header_without_tensors(tensors, header) -> None:
    assert read_header(encode_update(tensors, header)) == header


def test_flatten_uses_sorted_names_and_unflatten_inverts(spec, tensors) -> None:
    vec = flatten(tensors)

    assert vec.dtype == torch.float32 and vec.shape == (spec.num_params(),)
    assert torch.equal(vec[:5], tensors["fc1.bias"])  # "fc1.bias" sorts first
    back = unflatten(vec, spec)
    assert all(torch.equal(back[n], tensors[n]) for n in tensors)


def test_unflatten_rejects_wrong_length(spec) -> None:
    with pytest.raises(CodecError, match=r"vector has 3 values, the shapes need 43"):
        unflatten(torch.zeros(3), spec)


# -- rejections on encode ------------------------------------------------------------------------


def test_encode_rejects_nan(tensors, header) -> None:
    tensors["fc2.weight"][0, 0] = float("nan")

    with pytest.raises(CodecError, match=r"'fc2.weight' has 1 non-finite value"):
        encode_update(tensors, header)


def test_encode_rejects_float64(tensors, header) -> None:
    tensors["fc1.bias"] = tensors["fc1.bias"].double()

    with pytest.raises(CodecError, match=r"'fc1.bias' has dtype float64, only float32"):
        encode_update(tensors, header)


def test_encode_rejects_header_of_other_spec(spec, tensors) -> None:
    other = ModelSpec(model="mlp", input_shape=(4,), num_classes=3, hidden=(5,), seed=1)
    header = UpdateHeader(project=1, round=1, trainer=TRAINER, samples=1, spec_hash=other.hash())

    with pytest.raises(CodecError, match="is not the spec's hash"):
        encode_update(tensors, header, spec)


def test_encode_rejects_empty_update(header) -> None:
    with pytest.raises(CodecError, match="update has no tensors"):
        encode_update({}, header)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("trainer", "0x1234", "trainer must be a 0x-prefixed address"),
        ("samples", -1, "samples must be a non-negative integer"),
        ("round", True, "round must be a non-negative integer"),
        ("spec_hash", "0xABC", "spec_hash must be 0x"),
        ("version", 99, "codec version 99 is not supported"),
    ],
)
def test_header_rejects_bad_field(spec, field: str, value: Any, message: str) -> None:
    fields: dict[str, Any] = dict(
        project=1, round=1, trainer=TRAINER, samples=1, spec_hash=spec.hash()
    )
    fields[field] = value

    with pytest.raises(CodecError, match=message):
        UpdateHeader(**fields)


# -- rejections on decode ------------------------------------------------------------------------


def test_decode_rejects_shape_mismatch(spec, tensors) -> None:
    tensors["fc1.weight"] = torch.zeros(5, 3)
    data = raw_file(tensors, header_body(spec))

    with pytest.raises(
        CodecError,
        match=r"update tensor 'fc1.weight' has shape \(5, 3\), model spec expects "
        r"\(5, 4\)",
    ):
        decode_update(data, spec)


def test_decode_rejects_missing_tensor(spec, tensors) -> None:
    del tensors["fc2.bias"]

    with pytest.raises(CodecError, match=r"missing tensor\(s\) \['fc2.bias'\]"):
        decode_update(raw_file(tensors, header_body(spec)), spec)


def test_decode_rejects_extra_tensor(spec, tensors) -> None:
    tensors["backdoor"] = torch.zeros(1)

    with pytest.raises(CodecError, match=r"has tensor\(s\) \['backdoor'\] that the model spec"):
        decode_update(raw_file(tensors, header_body(spec)), spec)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_decode_rejects_non_finite(spec, tensors, bad: float) -> None:
    tensors["fc1.bias"][2] = bad

    with pytest.raises(CodecError, match=r"'fc1.bias' has 1 non-finite value\(s\)"):
        decode_update(raw_file(tensors, header_body(spec)), spec)


def test_decode_rejects_half_precision(spec, tensors) -> None:
    tensors["fc1.bias"] = tensors["fc1.bias"].half()

    with pytest.raises(CodecError, match=r"'fc1.bias' has dtype F16, only float32"):
        decode_update(raw_file(tensors, header_body(spec)), spec)


def test_decode_rejects_truncated_file(tensors, header) -> None:
    data = encode_update(tensors, header)

    with pytest.raises(CodecError, match="file is truncated: tensor"):
        decode_update(data[:-10])


def test_decode_rejects_truncated_header(tensors, header) -> None:
    with pytest.raises(CodecError, match="file is truncated: header claims"):
        decode_update(encode_update(tensors, header)[:40])


def test_decode_rejects_tiny_file() -> None:
    with pytest.raises(CodecError, match="too short for a safetensors header"):
        decode_update(b"\x01\x02")


def test_decode_rejects_oversize_file(tensors, header) -> None:
    data = encode_update(tensors, header)

    with pytest.raises(CodecError, match=f"file is {len(data)} bytes, more than the limit of 100"):
        decode_update(data, max_bytes=100)


def test_decode_rejects_huge_header_claim() -> None:
    with pytest.raises(CodecError, match="header claims 1099511627776 bytes, more than"):
        decode_update(struct.pack("<Q", 2**40) + b"{}")


def test_decode_rejects_trailing_bytes(tensors, header) -> None:
    with pytest.raises(CodecError, match=r"4 unexpected trailing byte\(s\)"):
        decode_update(encode_update(tensors, header) + b"\0\0\0\0")


def test_decode_rejects_non_json_header() -> None:
    junk = b"{not json"

    with pytest.raises(CodecError, match="safetensors header is not valid JSON"):
        decode_update(struct.pack("<Q", len(junk)) + junk)


def test_decode_rejects_file_without_fedmarket_header(tensors) -> None:
    with pytest.raises(CodecError, match="file has no fedmarket header"):
        decode_update(raw_file(tensors, None))


def test_decode_rejects_malformed_fedmarket_header(tensors) -> None:
    data = st_save(tensors, metadata={"fedmarket": "{oops"})

    with pytest.raises(CodecError, match="fedmarket header is not valid JSON"):
        decode_update(data)


def test_decode_update_rejects_model_file(spec, tensors) -> None:
    data = encode_model(tensors, ModelHeader(project=7, round=0, spec_hash=spec.hash()))

    with pytest.raises(CodecError, match="expected an update file, this one is a model"):
        decode_update(data)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "gradient"}, "kind must be 'model' or 'update', got 'gradient'"),
        ({"extra": 1}, r"update header has unknown field\(s\) \['extra'\]"),
        ({"samples": -5}, "samples must be a non-negative integer"),
        ({"version": 0}, "codec version 0 is not supported"),
    ],
)
def test_decode_rejects_bad_header_fields(
    spec, tensors, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(CodecError, match=message):
        decode_update(raw_file(tensors, header_body(spec, **overrides)))


def test_decode_rejects_missing_header_field(spec, tensors) -> None:
    body = header_body(spec)
    del body["samples"]

    with pytest.raises(CodecError, match=r"update header is missing field\(s\) \['samples'\]"):
        decode_update(raw_file(tensors, body))


def test_decode_rejects_update_made_for_another_spec(spec, tensors) -> None:
    other = ModelSpec(model="mlp", input_shape=(4,), num_classes=3, hidden=(5,), seed=9)

    with pytest.raises(CodecError, match="was made for model spec 0x"):
        decode_update(raw_file(tensors, header_body(other)), spec)


@pytest.mark.parametrize("example", ["tabular", "images", "text"])
def test_every_model_kind_round_trips_in_sorted_flat_order(example: str) -> None:
    from fedmarket.examples import get_example
    from fedmarket.models import initial_weights

    ex = get_example(example)
    kind = ModelSpec(ex.model, ex.input_shape, ex.num_classes, arch=ex.arch)
    weights = initial_weights(kind)
    head = UpdateHeader(project=1, round=1, trainer=TRAINER, samples=3, spec_hash=kind.hash())

    decoded, _ = decode_update(encode_update(weights, head, kind), kind)
    flat = flatten(decoded)

    in_order = torch.cat([weights[n].reshape(-1) for n in sorted(kind.param_shapes())])
    assert set(decoded) == set(kind.param_shapes())
    assert flat.dtype == torch.float32 and torch.equal(flat, in_order)
    assert all(torch.equal(decoded[n], weights[n]) for n in weights)
    assert all(torch.equal(unflatten(flat, kind)[n], weights[n]) for n in weights)
