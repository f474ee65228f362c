import json
from typing import Any

import pytest
from eth_utils import keccak

from fedmarket.errors import ConfigError
from fedmarket.modelspec import AggregationSpec, ModelSpec, TrainingSpec


def mlp_dict(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"model": "mlp", "input_shape": [64], "num_classes": 10}
    data.update(overrides)
    return data


def test_json_round_trip_keeps_spec_and_hash() -> None:
    spec = ModelSpec(
        model="cnn",
        input_shape=(1, 8, 8),
        num_classes=10,
        hidden=(8, 16),
        training=TrainingSpec(local_epochs=2, lr=0.1, optimizer="adam"),
        aggregation=AggregationSpec(rule="krum", params={"f": 2}),
    )

    again = ModelSpec.from_json(spec.to_json())

    assert again == spec
    assert again.hash() == spec.hash()


def test_canonical_json_is_sorted_and_compact() -> None:
    text = ModelSpec.from_dict(mlp_dict()).to_json()

    assert " " not in text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_hash_is_keccak_of_canonical_json() -> None:
    spec = ModelSpec.from_dict(mlp_dict())

    assert spec.hash() == "0x" + keccak(spec.to_bytes()).hex()


def test_hash_changes_with_any_hyperparameter() -> None:
    base = ModelSpec.from_dict(mlp_dict())
    changed = ModelSpec.from_dict(mlp_dict(training={"batch_size": 64}))

    assert base.hash() != changed.hash()


def test_integer_and_float_learning_rates_hash_equally() -> None:
    as_int = ModelSpec.from_dict(mlp_dict(training={"lr": 1}))
    as_float = ModelSpec.from_dict(mlp_dict(training={"lr": 1.0}))

    assert as_int.hash() == as_float.hash()


def test_mlp_param_shapes() -> None:
    spec = ModelSpec(model="mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(32, 16))

    assert spec.param_shapes() == {
        "fc1.bias": (32,),
        "fc1.weight": (32, 64),
        "fc2.bias": (16,),
        "fc2.weight": (16, 32),
        "fc3.bias": (10,),
        "fc3.weight": (10, 16),
    }
    assert spec.num_params() == 32 * 64 + 32 + 16 * 32 + 16 + 10 * 16 + 10


def test_cnn_param_shapes_follow_pooling() -> None:
    spec = ModelSpec(model="cnn", input_shape=(1, 28, 28), num_classes=10, hidden=(8, 16))

    assert spec.param_shapes() == {
        "conv1.bias": (8,),
        "conv1.weight": (8, 1, 3, 3),
        "conv2.bias": (16,),
        "conv2.weight": (16, 8, 3, 3),
        "fc.bias": (10,),
        "fc.weight": (10, 16 * 7 * 7),
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": "resnet"}, "model 'resnet' is unknown"),
        ({"colour": "red"}, r"unknown field\(s\) \['colour'\]"),
        ({"input_shape": []}, "input_shape must have at least one dimension"),
        ({"input_shape": [0]}, "input_shape must be a positive integer"),
        ({"input_shape": "64"}, "input_shape must be a list of integers"),
        ({"num_classes": 1}, "num_classes must be at least 2"),
        ({"hidden": [16, -1]}, "hidden must be a positive integer"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"version": 3}, "model spec version 3 is not supported"),
        ({"model": "cnn", "input_shape": [8, 8]}, r"image inputs need input_shape \(channels"),
        ({"model": "cnn", "input_shape": [1, 4, 4], "hidden": [4, 4, 4]},
         "cnn block 3 leaves no pixels of the 4x4 input"),
        ({"input_kind": "pixels"}, "input_kind 'pixels' is unknown"),
        ({"input_kind": "tokens"}, "a mlp cannot read tokens inputs"),
        ({"model": "transformer", "input_shape": [16, 2]}, r"input_shape must be \(sequence"),
        ({"model": "transformer", "input_shape": [16], "arch": {"max_len": 8}},
         "sequences of 16 tokens exceed arch.max_len 8"),
        ({"model": "transformer", "input_shape": [16], "arch": {"width": 30, "heads": 4}},
         "arch.width 30 must be a multiple of arch.heads 4"),
        ({"model": "transformer", "input_shape": [16], "arch": {"vocab_size": 100}},
         "arch.vocab_size 100 is below the byte tokenizer's 259"),
        ({"model": "transformer", "input_shape": [16], "tokenizer": "bpe"},
         "tokenizer 'bpe' is unknown"),
        ({"tokenizer": "bytes"}, "a tokenizer only applies to token inputs"),
        ({"arch": {"widths": [3]}}, r"arch of a mlp has unknown field\(s\) \['widths'\]"),
        ({"arch": {"activation": "swish"}}, "arch.activation 'swish' is unknown"),
        ({"arch": {"dropout": 1.0}}, r"arch.dropout must be a number in \[0, 1\)"),
        ({"hidden": [8], "arch": {"hidden": [16]}}, r"hidden \[8\] disagrees with the arch"),
        ({"model": "cnn", "input_shape": [3, 8, 8], "arch": {"blocks": [{"channels": 6}],
                                                              "group_norm": 4}},
         "arch.group_norm 4 does not divide the 6 channels of block 1"),
        ({"model": "cnn", "input_shape": [3, 8, 8], "arch": {"blocks": [{"kernel": 3}]}},
         r"arch.blocks\[1\] needs channels"),
        ({"model": "cnn", "input_shape": [3, 8, 8], "arch": {"blocks": []}},
         "a cnn needs at least one convolution block"),
        ({"version": 1, "arch": {"hidden": [3]}}, r"unknown field\(s\) \['arch'\]"),
        ({"training": {"optimizer": "lbfgs"}}, "training.optimizer 'lbfgs' is unknown"),
        ({"training": {"lr": -0.1}}, "training.lr must be > 0"),
        ({"training": {"lr": float("nan")}}, "training.lr must be a finite number"),
        ({"training": {"batch_size": 0}}, "training.batch_size must be a positive integer"),
        ({"training": {"epochs": 3}}, r"training has unknown field\(s\) \['epochs'\]"),
        ({"training": {"momentum": 1.0}}, "training.momentum must be < 1"),
        ({"aggregation": {"rule": "mean"}}, "aggregation.rule 'mean' is unknown"),
        ({"aggregation": {"rule": "krum", "params": {"f": [1]}}}, "aggregation.params.f must"),
        ({"scoring": {"method": "vibes"}}, "scoring.method 'vibes' is unknown"),
        ({"scoring": "cosine"}, "scoring must be a JSON object"),
    ],
)
def test_invalid_spec_is_rejected_with_named_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ModelSpec.from_dict(mlp_dict(**overrides))


def test_missing_required_field_is_named() -> None:
    with pytest.raises(ConfigError, match=r"missing required field\(s\) \['num_classes'\]"):
        ModelSpec.from_dict({"model": "mlp", "input_shape": [64]})


def test_malformed_json_is_rejected() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        ModelSpec.from_json("{model: mlp")


def test_non_object_json_is_rejected() -> None:
    with pytest.raises(ConfigError, match="must be a JSON object"):
        ModelSpec.from_json("[1, 2]")


def test_equal_specs_are_hashable_and_equal() -> None:
    a = ModelSpec.from_dict(mlp_dict(aggregation={"rule": "krum", "params": {"f": 1}}))
    b = ModelSpec.from_dict(mlp_dict(aggregation={"rule": "krum", "params": {"f": 1}}))

    assert a == b and len({a, b}) == 1


# The canonical JSON of a version-1 spec as the version-1 code wrote it (commit 5d5100a).
V1_JSON = ('{"aggregation":{"params":{"f":2},"rule":"krum"},"hidden":[16,32],'
           '"input_shape":[1,8,8],"model":"cnn","num_classes":10,"scoring":{"method":"cosine",'
           '"params":{}},"seed":0,"training":{"batch_size":32,"local_epochs":1,"lr":0.05,'
           '"momentum":0.0,"optimizer":"sgd","weight_decay":0.0},"version":1}')


def test_version_1_spec_loads_and_keeps_its_bytes_and_hash() -> None:
    spec = ModelSpec.from_json(V1_JSON)

    assert spec.to_json() == V1_JSON
    assert spec.hash() == "0x" + keccak(V1_JSON.encode()).hex()
    assert spec.input_kind == "image" and spec.hidden == (16, 32)


def test_version_1_spec_builds_the_same_model_as_its_version_2_form() -> None:
    v1 = ModelSpec.from_json(V1_JSON)
    v2 = ModelSpec.from_dict({**v1.to_dict(), "version": 2})

    assert v2.param_shapes() == v1.param_shapes()
    assert v2.hash() != v1.hash()  # the v2 JSON also names input kind and the whole arch


def test_version_2_json_records_task_and_whole_arch() -> None:
    data = json.loads(ModelSpec.from_dict(mlp_dict(hidden=[8])).to_json())

    assert data["input_kind"] == "features" and data["version"] == 2
    assert data["arch"] == {"hidden": [8], "activation": "relu", "dropout": 0.0}
    assert "hidden" not in data  # one place for the widths


def test_arch_fields_change_the_hash() -> None:
    base = ModelSpec.from_dict(mlp_dict(arch={"hidden": [8]}))
    gelu = ModelSpec.from_dict(mlp_dict(arch={"hidden": [8], "activation": "gelu"}))

    assert base.hash() != gelu.hash()


def test_integer_and_float_dropout_hash_equally() -> None:
    as_int = ModelSpec.from_dict(mlp_dict(arch={"dropout": 0}))
    as_float = ModelSpec.from_dict(mlp_dict(arch={"dropout": 0.0}))

    assert as_int.hash() == as_float.hash()


def test_transformer_max_len_defaults_to_the_sequence_length() -> None:
    spec = ModelSpec.from_dict({"model": "transformer", "input_shape": [24], "num_classes": 2})

    assert spec.arch.max_len == 24  # type: ignore[union-attr]
    assert spec.tokenizer == "bytes" and spec.input_kind == "tokens"
    assert ModelSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    "data",
    [
        {"model": "cnn", "input_shape": [3, 16, 16], "num_classes": 4,
         "arch": {"blocks": [{"channels": 8, "kernel": 5, "stride": 2, "pool": 1},
                             {"channels": 16}], "group_norm": 4, "hidden": [32]}},
        {"model": "transformer", "input_shape": [32], "num_classes": 3,
         "arch": {"width": 32, "heads": 2, "layers": 1, "pooling": "mean"}},
        {"model": "mlp", "input_shape": [30], "num_classes": 2,
         "arch": {"hidden": [16, 8], "activation": "tanh", "dropout": 0.25}},
    ],
    ids=["cnn", "transformer", "mlp"],
)
def test_every_model_kind_round_trips_through_json(data: dict[str, Any]) -> None:
    spec = ModelSpec.from_dict(data)

    again = ModelSpec.from_json(spec.to_json())

    assert again == spec and again.hash() == spec.hash()
