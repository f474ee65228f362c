from dataclasses import replace

import numpy as np
import pytest
import torch

from fedmarket.codec import UpdateHeader, decode_update, encode_update
from fedmarket.datasets import Dataset
from fedmarket.errors import ConfigError, DataError
from fedmarket.models import initial_weights
from fedmarket.modelspec import TrainingSpec
from trainer.local_training import TrainingProgress, evaluate_weights, train_local


def apply(weights, delta):
    return {name: weights[name] + delta[name] for name in weights}


def test_training_reduces_loss_on_digits(mlp_spec, mlp_global, digits_train) -> None:
    spec = replace(mlp_spec, training=TrainingSpec(local_epochs=3, batch_size=32, lr=0.1))
    _, loss_before = evaluate_weights(spec, mlp_global, digits_train, device="cpu")

    update = train_local(spec, mlp_global, digits_train, device="cpu", seed=0)

    accuracy, loss_after = evaluate_weights(
        spec, apply(mlp_global, update.delta), digits_train, device="cpu"
    )
    assert loss_after < 0.5 * loss_before
    assert accuracy > 0.8
    assert list(update.epoch_losses) == sorted(update.epoch_losses, reverse=True)


def test_training_is_reproducible_on_cpu(mlp_spec, mlp_global, digits_train) -> None:
    first = train_local(mlp_spec, mlp_global, digits_train, device="cpu", seed=5)
    again = train_local(mlp_spec, mlp_global, digits_train, device="cpu", seed=5)
    other = train_local(mlp_spec, mlp_global, digits_train, device="cpu", seed=6)

    assert all(torch.equal(first.delta[n], again.delta[n]) for n in first.delta)
    assert first.mean_loss == again.mean_loss
    assert not torch.equal(first.delta["fc1.weight"], other.delta["fc1.weight"])


def test_cnn_delta_has_the_model_shapes(cnn_spec, digits_train) -> None:
    update = train_local(cnn_spec, initial_weights(cnn_spec), digits_train, device="cpu")

    assert {n: tuple(t.shape) for n, t in update.delta.items()} == cnn_spec.param_shapes()
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in update.delta.values())
    assert update.samples == len(digits_train)


def test_delta_round_trips_through_the_codec(mlp_spec, mlp_global, digits_train) -> None:
    update = train_local(mlp_spec, mlp_global, digits_train, device="cpu")
    header = UpdateHeader(
        project=1,
        round=1,
        trainer="0x" + "11" * 20,
        samples=update.samples,
        spec_hash=mlp_spec.hash(),
    )

    tensors, got = decode_update(encode_update(update.delta, header, mlp_spec), mlp_spec)

    assert got.samples == len(digits_train)
    assert all(torch.equal(tensors[n], update.delta[n]) for n in tensors)


def test_progress_reports_every_batch(mlp_spec, mlp_global, digits_train) -> None:
    seen: list[TrainingProgress] = []
    spec = replace(mlp_spec, training=TrainingSpec(local_epochs=2, batch_size=100))

    train_local(spec, mlp_global, digits_train, device="cpu", progress=seen.append)

    steps = 2 * -(-len(digits_train) // 100)
    assert [p.step for p in seen] == list(range(1, steps + 1))
    assert seen[-1].samples == 2 * len(digits_train) and seen[-1].epoch == 2


def test_training_leaves_inputs_and_global_flags_alone(mlp_spec, mlp_global, digits_train) -> None:
    before = {n: t.clone() for n, t in mlp_global.items()}

    train_local(mlp_spec, mlp_global, digits_train, device="cpu")

    assert all(torch.equal(before[n], mlp_global[n]) for n in before)
    assert not torch.are_deterministic_algorithms_enabled()


def test_wrong_feature_count_is_a_data_error(mlp_spec, mlp_global) -> None:
    data = Dataset(np.zeros((4, 3), dtype=np.float32), np.zeros(4, dtype=np.int64), "tiny.csv")

    with pytest.raises(DataError, match=r"samples have 3 features \(3\) but the model expects 64"):
        train_local(mlp_spec, mlp_global, data, device="cpu")


def test_label_outside_spec_classes_is_a_data_error(mlp_spec, mlp_global) -> None:
    data = Dataset(np.zeros((2, 64), dtype=np.float32), np.array([0, 12]), "labels.csv")

    with pytest.raises(DataError, match="label 12 is out of range for the model's 10"):
        train_local(mlp_spec, mlp_global, data, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_request_without_cuda_is_a_config_error(mlp_spec, mlp_global, digits_train) -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        train_local(mlp_spec, mlp_global, digits_train, device="cuda")
