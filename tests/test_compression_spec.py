"""The spec's compression section: optional, hashed when set, invisible when not."""

from __future__ import annotations

import pytest

from fedmarket.compression_spec import Compression
from fedmarket.errors import ConfigError
from fedmarket.modelspec import ModelSpec


def plain() -> ModelSpec:
    return ModelSpec("mlp", (64,), 10, hidden=(32,))


def test_a_spec_without_compression_keeps_its_json_and_hash() -> None:
    explicit_none = ModelSpec("mlp", (64,), 10, hidden=(32,), compression=Compression("none"))

    assert "compression" not in plain().to_json()
    assert explicit_none.to_json() == plain().to_json()
    assert explicit_none.hash() == plain().hash()
    assert ModelSpec.from_json(plain().to_json()).hash() == plain().hash()


@pytest.mark.parametrize(("how", "section"), [
    (Compression("int8"), {"kind": "int8"}),
    (Compression("topk", 0.1), {"kind": "topk", "fraction": 0.1})])
def test_a_declared_compression_is_in_the_json_and_the_hash(how: Compression,
                                                           section: dict) -> None:
    spec = ModelSpec("mlp", (64,), 10, hidden=(32,), compression=how)

    assert spec.to_dict()["compression"] == section
    assert spec.hash() != plain().hash()
    assert ModelSpec.from_json(spec.to_json()) == spec
    assert spec.update_form == how.kind


@pytest.mark.parametrize(("section", "message"), [
    ({"kind": "gzip"}, "compression 'gzip' is unknown"),
    ({"kind": "topk", "fraction": 0}, "compression.fraction must be > 0"),
    ({"kind": "topk", "fraction": 1.5}, "must be in (0, 1]"),
    ({"kind": "int8", "fraction": 0.1}, "only applies to kind 'topk'"),
    ({"kind": "int8", "bits": 4}, "unknown field(s) ['bits']")])
def test_a_malformed_compression_section_is_refused(section: dict, message: str) -> None:
    data = {**plain().to_dict(), "compression": section}
    with pytest.raises(ConfigError) as info:
        ModelSpec.from_dict(data)
    assert message in str(info.value)


def test_a_version_1_spec_cannot_declare_compression() -> None:
    with pytest.raises(ConfigError, match="compression needs a version 2 spec"):
        ModelSpec("mlp", (64,), 10, hidden=(32,), version=1, compression=Compression("int8"))
