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
        ({"version": 2}, "model spec version 2 is not supported"),
        ({"model": "cnn", "input_shape": [8, 8]}, r"cnn needs input_shape \(channels"),
        ({"model": "cnn", "input_shape": [1, 4, 4], "hidden": [4, 4, 4]}, "at least 8x8"),
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
