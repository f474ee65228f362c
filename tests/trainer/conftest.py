
import pytest
import torch

from fedmarket.datasets import Dataset, holdout_split, load_digits
from fedmarket.models import initial_weights
from fedmarket.modelspec import ModelSpec, TrainingSpec


@pytest.fixture(autouse=True)
def _on_one_thread(one_thread: None) -> None:
    """Every trainer test runs on one thread (``tests/conftest.py``)."""


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load_digits()


@pytest.fixture(scope="session")
def digits_train(digits: Dataset) -> Dataset:
    return holdout_split(digits, 0.2, seed=0)[0]


@pytest.fixture
def mlp_spec() -> ModelSpec:
    return ModelSpec(
        model="mlp",
        input_shape=(64,),
        num_classes=10,
        hidden=(32,),
        training=TrainingSpec(local_epochs=1, batch_size=32, lr=0.1),
    )


@pytest.fixture
def cnn_spec() -> ModelSpec:
    return ModelSpec(
        model="cnn",
        input_shape=(1, 8, 8),
        num_classes=10,
        hidden=(4, 8),
        training=TrainingSpec(local_epochs=1, batch_size=32, lr=0.1),
    )


@pytest.fixture
def mlp_global(mlp_spec: ModelSpec) -> dict[str, torch.Tensor]:
    return initial_weights(mlp_spec)
