"""Data is checked against the spec's task and refused with one sentence, never converted."""

import numpy as np
import pytest

from fedmarket.data_fit import check_fits
from fedmarket.datasets import Dataset
from fedmarket.errors import DataError
from fedmarket.modelspec import ModelSpec

CNN = ModelSpec(model="cnn", input_shape=(3, 16, 16), num_classes=4, hidden=(8,))
TEXT = ModelSpec(model="transformer", input_shape=(12,), num_classes=2)


def data(x: np.ndarray, classes: int = 2) -> Dataset:
    return Dataset(x.astype(np.float32), np.arange(len(x)) % classes, "shard.npz")


def test_images_of_the_spec_shape_fit() -> None:
    check_fits(data(np.zeros((4, 3, 16, 16))), CNN)


def test_flat_vectors_of_the_image_size_fit() -> None:
    check_fits(data(np.zeros((4, 3 * 16 * 16))), CNN)


@pytest.mark.parametrize(("shape", "shown"), [((1, 16, 16), "1x16x16"), ((3, 8, 32), "3x8x32"),
                                              ((3, 32, 32), "3x32x32")])
def test_images_of_another_shape_are_refused(shape: tuple[int, ...], shown: str) -> None:
    with pytest.raises(DataError, match=f"shard.npz: images are {shown} but the model expects "
                                        "3x16x16"):
        check_fits(data(np.zeros((4, *shape))), CNN)


def test_labels_beyond_the_spec_classes_are_refused() -> None:
    with pytest.raises(DataError, match="label 5 is out of range for the model's 4 classes"):
        check_fits(data(np.zeros((6, 3, 16, 16)), classes=6), CNN)


def test_token_sequences_of_another_length_are_refused() -> None:
    with pytest.raises(DataError, match="token sequences are 10 long but the model reads 12"):
        check_fits(data(np.ones((4, 10))), TEXT)


def test_token_ids_outside_the_vocabulary_are_refused() -> None:
    x = np.ones((4, 12))
    x[2, 3] = 259

    with pytest.raises(DataError, match="token id 259 is outside the model's vocabulary of 259"):
        check_fits(data(x), TEXT)


def test_fractional_token_ids_are_refused() -> None:
    with pytest.raises(DataError, match="token ids must be integers"):
        check_fits(data(np.full((4, 12), 0.5)), TEXT)


def test_empty_data_is_refused() -> None:
    with pytest.raises(DataError, match="holds no samples"):
        check_fits(data(np.zeros((0, 3, 16, 16))), CNN)
