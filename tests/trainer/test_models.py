import pytest
import torch

from fedmarket.models import build_model, get_weights, model_names
from fedmarket.modelspec import MODEL_NAMES, ModelSpec

SPECS = [
    ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=()),
    ModelSpec(model="mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(32, 16)),
    ModelSpec(model="cnn", input_shape=(1, 8, 8), num_classes=10, hidden=(4, 8)),
    ModelSpec(model="cnn", input_shape=(1, 28, 28), num_classes=10, hidden=(8, 16)),
]


def test_registry_covers_every_spec_model_name() -> None:
    assert model_names() == sorted(MODEL_NAMES)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.model}{s.input_shape}{s.hidden}")
def test_built_model_has_the_spec_shapes(spec: ModelSpec) -> None:
    model = build_model(spec)

    shapes = {name: tuple(t.shape) for name, t in get_weights(model).items()}

    assert shapes == spec.param_shapes()
    assert all(t.dtype == torch.float32 for t in model.state_dict().values())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.model}{s.input_shape}{s.hidden}")
def test_forward_gives_one_logit_per_class(spec: ModelSpec) -> None:
    batch = torch.zeros(3, *spec.input_shape)

    assert build_model(spec)(batch).shape == (3, spec.num_classes)


def test_init_is_deterministic_from_seed() -> None:
    spec = SPECS[2]

    first, again = get_weights(build_model(spec)), get_weights(build_model(spec))
    other = get_weights(build_model(spec, seed=1))

    assert all(torch.equal(first[n], again[n]) for n in first)
    assert not torch.equal(first["conv1.weight"], other["conv1.weight"])


def test_build_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)

    build_model(SPECS[1])

    assert torch.equal(torch.rand(1), expected)
