from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from fedmarket.datasets import holdout_split, load_digits
from fedmarket.errors import ConfigError
from fedmarket.evaluation import evaluate_weights
from fedmarket.examples import get_example
from fedmarket.lora import base_weights, full_weights, init_adapters, merge, register_base
from fedmarket.lora_spec import LoraSpec
from fedmarket.models import build_model, initial_weights, trainable_model
from fedmarket.modelspec import ModelSpec, TrainingSpec
from fedmarket.owner_lora import read_base_weights, store_base_weights
from fedmarket.protocol import load_spec
from fedmarket.storage.local import LocalStore
from trainer.local_training import train_local

BASE = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(32,),
                 training=TrainingSpec(lr=0.01, optimizer="adam"))


def mlp(hidden: tuple[int, ...]) -> ModelSpec:
    return ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=hidden)


def lora_spec(cid: str = "base-cid", rank: int = 2) -> ModelSpec:
    return replace(BASE, lora=LoraSpec(cid, rank=rank, alpha=4.0))


def registered(cid: str = "base-cid", seed: int = 3) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    spec = lora_spec(cid)
    base = initial_weights(replace(BASE, seed=seed))
    register_base(spec, base)
    return spec, base


# Hashes computed with main before the lora section existed (git archive main, same specs).
HASHES_BEFORE_LORA = {
    "base": "0xa998ff38e5e2c3c236ae9cf377817ce46fa4f5098ca4befc1e24c1a296222047",
    "tabular": "0x35b97064a20bda2e131ff5b3c4112d5ee2e56a031e70f506a49443c0d3931dc0",
    "images": "0x3dbd6e0434cdaf293406eb3a4eeee1c6b29b9f8fd63a66c706e7012a27e7c89d",
    "text": "0xbd9f070d67893d1ed32a5c7a4913e1212f856644c531a9fe2594e4345af2d163",
}


@pytest.mark.parametrize("name", sorted(HASHES_BEFORE_LORA))
def test_spec_without_lora_keeps_the_hash_it_had_before_lora(name: str) -> None:
    if name == "base":
        spec = BASE
    else:
        e = get_example(name)
        spec = ModelSpec(model=e.model, arch=e.arch, input_shape=e.input_shape,
                         num_classes=e.num_classes, training=e.training)
    assert "lora" not in spec.to_dict()
    assert spec.hash() == HASHES_BEFORE_LORA[name]


def test_lora_section_round_trips_and_its_base_cid_changes_the_hash() -> None:
    spec = lora_spec()

    again = ModelSpec.from_json(spec.to_json())

    assert again == spec and again.hash() == spec.hash()
    assert spec.hash() != lora_spec("other-cid").hash() != BASE.hash()


def test_lora_param_shapes_are_the_adapters_of_every_2d_weight() -> None:
    assert lora_spec(rank=2).param_shapes() == {
        "fc1.weight.lora_A": (2, 64), "fc1.weight.lora_B": (32, 2),
        "fc2.weight.lora_A": (2, 32), "fc2.weight.lora_B": (10, 2)}
    assert lora_spec().base_shapes() == BASE.param_shapes()


@pytest.mark.parametrize("section", [{"rank": 0, "base_weights_cid": "x"},
                                     {"rank": 2, "base_weights_cid": ""},
                                     {"rank": 2, "alpha": -1, "base_weights_cid": "x"},
                                     {"rank": 2}, {"rank": 2, "base_weights_cid": "x", "r": 1}])
def test_invalid_lora_section_is_refused(section: dict[str, object]) -> None:
    data = {**BASE.to_dict(), "lora": section}
    with pytest.raises(ConfigError, match="lora"):
        ModelSpec.from_dict(data)


def test_round_zero_adapters_merge_to_the_base_exactly() -> None:
    spec, base = registered()

    merged = full_weights(spec, initial_weights(spec))

    assert all(torch.equal(merged[name], base[name]) for name in base)


def test_merge_adds_scaled_b_times_a() -> None:
    spec, base = registered()
    gen = torch.Generator().manual_seed(0)
    adapters = {n: torch.randn(s, generator=gen) for n, s in spec.param_shapes().items()}

    merged = merge(spec, base, adapters)

    scale = 4.0 / 2
    expected = base["fc1.weight"] + scale * adapters["fc1.weight.lora_B"] @ adapters[
        "fc1.weight.lora_A"]
    assert torch.equal(merged["fc1.weight"], expected)
    assert torch.equal(merged["fc1.bias"], base["fc1.bias"])


def test_init_adapters_are_seeded_with_zero_b() -> None:
    spec = lora_spec()
    first, again = init_adapters(spec), init_adapters(spec)
    assert all(torch.equal(first[n], again[n]) for n in first)
    assert not torch.equal(first["fc1.weight.lora_A"], init_adapters(replace(spec, seed=1))[
        "fc1.weight.lora_A"])
    assert all(not bool(first[n].any()) for n in first if n.endswith("lora_B"))


def test_training_moves_only_the_adapters_and_lowers_the_loss() -> None:
    spec, base = registered()
    data = holdout_split(load_digits(), 0.5, seed=0)[0]
    start = initial_weights(spec)
    frozen = {n: t.clone() for n, t in base.items()}

    update = train_local(replace(spec, training=replace(spec.training, local_epochs=3)),
                         start, data, device="cpu", seed=0)

    assert set(update.delta) == set(spec.param_shapes())
    assert all(bool(update.delta[n].any()) for n in update.delta)
    assert all(torch.equal(base_weights(spec)[n], frozen[n]) for n in frozen)
    assert update.epoch_losses[-1] < update.epoch_losses[0]
    trained = {n: start[n] + update.delta[n] for n in start}
    assert evaluate_weights(spec, trained, data)[0] > evaluate_weights(spec, start, data)[0]


def test_lora_model_trains_only_adapter_parameters() -> None:
    spec, _ = registered()
    model = trainable_model(spec, initial_weights(spec))
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(p.numel() for p in trainable) == spec.num_params()


def test_unloaded_base_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="not loaded: load the spec") as err:
        full_weights(lora_spec("never-registered"), init_adapters(lora_spec()))
    assert "\n" not in str(err.value)


def test_base_of_another_arch_is_refused() -> None:
    wrong = initial_weights(mlp((16,)))
    with pytest.raises(ConfigError, match="do not fit the spec's mlp arch"):
        register_base(lora_spec("wrong"), wrong)


def test_load_spec_fetches_the_base_from_the_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", fsync=False)
    base = initial_weights(replace(BASE, seed=7))
    file = tmp_path / "base.safetensors"
    save_file(base, str(file))
    cid = store_base_weights(store, BASE, read_base_weights(file))
    spec = lora_spec(cid)

    loaded = load_spec(store, store.put(spec.to_bytes()))

    assert loaded == spec
    assert all(torch.equal(base_weights(loaded)[n], base[n]) for n in base)


def test_load_spec_refuses_a_stored_base_of_another_arch(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", fsync=False)
    small = mlp((8,))
    cid = store_base_weights(store, small, initial_weights(small))

    with pytest.raises(ConfigError, match="do not fit the spec's mlp arch"):
        load_spec(store, store.put(lora_spec(cid).to_bytes()))


def test_adapter_update_is_much_smaller_than_the_full_model() -> None:
    # 64-256-256-10 MLP: 85,002 weights; rank-2 adapters: 2 * (64+256 + 256+256 + 256+10).
    spec = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(256, 256),
                     lora=LoraSpec("base-cid", rank=2))
    full = sum(p.numel() for p in build_model(spec).parameters())
    assert (full, spec.num_params()) == (85_002, 2 * (320 + 512 + 266))
    assert full / spec.num_params() >= 20


def test_freeze_a_moves_only_b_and_merges_with_the_seeded_a() -> None:
    plain, base = registered()
    spec = replace(plain, lora=replace(plain.lora, freeze_a=True))  # same base CID
    gen = torch.Generator().manual_seed(1)
    b_only = {n: torch.randn(s, generator=gen) for n, s in spec.param_shapes().items()}
    with_a = {**init_adapters(plain), **b_only}

    assert spec.param_shapes() == {n: s for n, s in plain.param_shapes().items()
                                   if n.endswith(".lora_B")}
    assert spec.hash() != plain.hash()
    merged, expected = full_weights(spec, b_only), full_weights(plain, with_a)
    assert all(torch.equal(merged[n], expected[n]) for n in expected)


def test_freeze_a_training_returns_b_deltas_that_lower_the_loss() -> None:
    plain, _ = registered()
    spec = replace(plain, lora=replace(plain.lora, freeze_a=True),
                   training=replace(plain.training, local_epochs=3))
    data = holdout_split(load_digits(), 0.5, seed=0)[0]

    update = train_local(spec, initial_weights(spec), data, device="cpu", seed=0)

    assert set(update.delta) == set(spec.param_shapes())
    assert update.epoch_losses[-1] < update.epoch_losses[0]


@pytest.mark.parametrize("name", ["images", "text"])
def test_lora_on_cnn_and_transformer_adapts_their_2d_weights_and_trains(name: str) -> None:
    e = get_example(name)
    plain = ModelSpec(model=e.model, arch=e.arch, input_shape=e.input_shape,
                      num_classes=e.num_classes, training=replace(e.training, local_epochs=1))
    base = initial_weights(replace(plain, seed=5))
    spec = replace(plain, lora=LoraSpec(f"{name}-base", rank=2))
    register_base(spec, base)
    data = e.make(0).dataset.subset(np.arange(64))

    update = train_local(spec, initial_weights(spec), data, device="cpu", seed=0)

    targets = {n.rsplit(".lora_", 1)[0] for n in spec.param_shapes()}
    assert targets == {n for n, s in plain.param_shapes().items() if len(s) == 2}
    assert all(len(s) != 4 for n, s in plain.param_shapes().items() if n in targets)
    assert all(bool(torch.isfinite(t).all()) for t in update.delta.values())
    assert any(bool(t.any()) for t in update.delta.values())


def test_a_registered_base_is_refused_for_a_spec_of_another_arch() -> None:
    spec, _ = registered("shared-cid")
    other = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(16,),
                      lora=LoraSpec("shared-cid", rank=2))

    with pytest.raises(ConfigError, match="do not fit the spec's mlp arch"):
        full_weights(other, init_adapters(other))
