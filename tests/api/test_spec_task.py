"""The dashboard's task of a project comes from its spec, and an unreadable spec gives none."""

from fedmarket.examples import get_example
from fedmarket.lora_spec import LoraSpec
from fedmarket.modelspec import ModelSpec
from market_api.indexer.spec import SpecTask, spec_task


def test_a_cnn_spec_gives_its_task_and_size() -> None:
    example = get_example("images")
    spec = ModelSpec(model="cnn", input_shape=example.input_shape, num_classes=4,
                     arch=example.arch)

    task = spec_task({"cid": spec.to_bytes()}.get, "cid")

    assert task == SpecTask("cnn", "image", "3x16x16", 4, spec.num_params())


def test_an_absent_or_invalid_spec_gives_no_task() -> None:
    store = {"junk": b'{"model": "mlp", "args": {"hidden": 32}}'}

    assert spec_task(store.get, "missing") is None
    assert spec_task(store.get, "junk") is None


def test_a_lora_spec_gives_its_adapter_size_rank_and_base_size() -> None:
    spec = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=(256, 256),
                     lora=LoraSpec("base-cid", rank=2, freeze_a=True))

    task = spec_task({"cid": spec.to_bytes()}.get, "cid")

    assert task == SpecTask("mlp", "features", "64", 10, 1044, 2, 85_002)
