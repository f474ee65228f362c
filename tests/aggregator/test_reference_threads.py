"""The trusted rule's reference update does not depend on the re-executing party's threads."""

from pathlib import Path

import pytest
import torch

from aggregator.reference import train_reference
from fedmarket.examples import get_example
from fedmarket.models import initial_weights
from fedmarket.modelspec import ModelSpec


@pytest.mark.parametrize("name", ["images", "text"])
def test_reference_is_identical_under_one_and_two_threads(tmp_path: Path, name: str) -> None:
    example = get_example(name)
    spec = ModelSpec(example.model, example.input_shape, example.num_classes, arch=example.arch,
                     training=example.training)
    validation = example.split(5, tmp_path).validation.dataset
    weights = initial_weights(spec)
    before = torch.get_num_threads()

    deltas = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            deltas.append(train_reference(spec, weights, validation, seed=11))
            assert torch.get_num_threads() == threads  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)

    assert torch.equal(deltas[0], deltas[1])
