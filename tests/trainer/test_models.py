import numpy as np
import pytest
import torch

from fedmarket.architectures import CNNArch, ConvBlock, MLPArch, TransformerArch
from fedmarket.models import build_model, get_weights, model_names
from fedmarket.modelspec import MODEL_NAMES, ModelSpec

SPECS = [
    ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=()),
    ModelSpec(model="mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(32, 16)),
    ModelSpec(model="cnn", input_shape=(1, 8, 8), num_classes=10, hidden=(4, 8)),
    ModelSpec(model="cnn", input_shape=(1, 28, 28), num_classes=10, hidden=(8, 16)),
    ModelSpec(model="mlp", input_shape=(30,), num_classes=2,
              arch=MLPArch(hidden=(16, 8, 4), activation="gelu", dropout=0.2)),
    ModelSpec(model="mlp", input_shape=(3, 5, 7), num_classes=3, input_kind="image",
              arch=MLPArch(hidden=(), activation="tanh")),
    ModelSpec(model="cnn", input_shape=(3, 16, 16), num_classes=4,
              arch=CNNArch(blocks=(ConvBlock(8), ConvBlock(16)), group_norm=4)),
    ModelSpec(model="cnn", input_shape=(3, 17, 23), num_classes=5,
              arch=CNNArch(blocks=(ConvBlock(6, kernel=5, stride=2, pool=1),
                                   ConvBlock(12, kernel=1, pool=3)),
                           activation="silu", hidden=(20, 10), dropout=0.1)),
    ModelSpec(model="cnn", input_shape=(4, 9, 9), num_classes=2,
              arch=CNNArch(blocks=(ConvBlock(2, kernel=4, stride=3, pool=1),), group_norm=2)),
    ModelSpec(model="transformer", input_shape=(16,), num_classes=2),
    ModelSpec(model="transformer", input_shape=(12,), num_classes=3,
              arch=TransformerArch(width=24, heads=3, layers=3, ff_width=40, max_len=20,
                                   pooling="mean", dropout=0.1, vocab_size=300)),
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
    if spec.input_kind == "tokens":
        batch[:, 0] = 1  # CLS, then padding

    logits = build_model(spec).eval()(batch)

    assert logits.shape == (3, spec.num_classes) and bool(torch.isfinite(logits).all())


def test_transformer_ignores_padding_after_the_text() -> None:
    spec = ModelSpec(model="transformer", input_shape=(8,), num_classes=2,
                     arch=TransformerArch(width=16, heads=2, layers=1, pooling="mean"))
    model = build_model(spec).eval()
    short = torch.tensor([[1.0, 10, 11, 2, 0, 0, 0, 0]])
    longer_pad = torch.tensor([[1.0, 10, 11, 2, 0, 0]])

    with torch.no_grad():
        a, b = model(short), model(longer_pad)

    # Masked keys get exactly zero attention weight, so padding length changes nothing up to
    # float rounding of the (shorter) reductions: 1e-6 is far below the logits' spread.
    assert torch.allclose(a, b, atol=1e-6)


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


def _random_specs(count: int, seed: int) -> list[ModelSpec]:
    """Seeded random archs of every family, each valid by construction (sizes chosen to fit)."""
    rng = np.random.default_rng(seed)
    specs: list[ModelSpec] = []
    for i in range(count):
        classes = int(rng.integers(2, 7))
        if i % 3 == 0:
            widths = tuple(int(w) for w in rng.integers(1, 9, rng.integers(0, 4)))
            specs.append(ModelSpec("mlp", (int(rng.integers(1, 40)),), classes,
                                   arch=MLPArch(widths, str(rng.choice(["relu", "gelu", "tanh",
                                                                        "silu"])))))
        elif i % 3 == 1:
            blocks = tuple(ConvBlock(int(rng.choice([2, 4, 6])), int(rng.integers(1, 6)),
                                     int(rng.integers(1, 3)), int(rng.integers(1, 3)))
                           for _ in range(rng.integers(1, 3)))
            side = int(rng.integers(12, 30))
            specs.append(ModelSpec("cnn", (int(rng.integers(1, 5)), side, side + 3), classes,
                                   arch=CNNArch(blocks, group_norm=int(rng.choice([0, 2])),
                                                hidden=tuple(int(w) for w in
                                                             rng.integers(1, 9,
                                                                          rng.integers(0, 3))))))
        else:
            heads = int(rng.integers(1, 4))
            length = int(rng.integers(4, 20))
            specs.append(ModelSpec("transformer", (length,), classes, arch=TransformerArch(
                width=heads * int(rng.integers(2, 6)), heads=heads,
                layers=int(rng.integers(1, 3)), ff_width=int(rng.integers(4, 20)),
                max_len=length + int(rng.integers(0, 5)),
                pooling=str(rng.choice(["cls", "mean"])))))
    return specs


@pytest.mark.parametrize("spec", _random_specs(30, seed=15), ids=lambda s: s.hash()[:10])
def test_random_archs_build_the_shapes_the_spec_derives(spec: ModelSpec) -> None:
    model = build_model(spec)

    assert {n: tuple(t.shape) for n, t in get_weights(model).items()} == spec.param_shapes()
    batch = torch.ones(2, *spec.input_shape)  # token id 1 (CLS) for transformers
    assert model.eval()(batch).shape == (2, spec.num_classes)
