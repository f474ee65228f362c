"""`project post` with LoRA options: the base is checked before any money moves.

On a real node started by `chain up`: a base of another arch, or a rank without a base, is
refused with one line and no transaction; a fitting base posts a project whose spec names it
and whose parameters are the adapters.
"""

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from fedmarket.models import initial_weights
from fedmarket.modelspec import ModelSpec
from tests.cli.conftest import Market, ok, refused

OWNER = 1


def _post(market: Market, *extra: str) -> list[str]:
    return ["project", "post", "--budget", "1", "--rounds", "1", "--data-dir", market.data_dir,
            "--hidden", "32", *extra]


def _state(market: Market) -> tuple[int, int]:
    return market.contracts(OWNER).market.project_count(), market.balance(OWNER)


def _base(tmp_path: Path, hidden: tuple[int, ...]) -> str:
    path = tmp_path / "base.safetensors"
    spec = ModelSpec(model="mlp", input_shape=(64,), num_classes=10, hidden=hidden, seed=4)
    save_file(initial_weights(spec), str(path))
    return str(path)


def test_base_weights_of_another_arch_are_refused(market: Market, tmp_path: Path) -> None:
    before = _state(market)

    message = refused(*_post(market, "--lora-rank", "2",
                             "--base-weights", _base(tmp_path, (16,))))

    assert "do not fit the spec's mlp arch" in message and "'fc1.bias' has shape (16,)" in message
    assert _state(market) == before


def test_a_lora_rank_without_base_weights_is_refused(market: Market) -> None:
    before = _state(market)

    message = refused(*_post(market, "--lora-rank", "2"))

    assert "--base-weights" in message
    assert _state(market) == before


def test_a_fitting_base_posts_a_project_that_moves_adapters(market: Market,
                                                           tmp_path: Path) -> None:
    posted = ok(*_post(market, "--lora-rank", "2", "--lora-freeze-a",
                       "--base-weights", _base(tmp_path, (32,))))

    assert posted["lora"]["rank"] == 2 and posted["lora"]["freeze_a"] is True
    assert posted["num_params"] == 2 * (32 + 10)  # B of fc1 [32, 2] and fc2 [10, 2]
    assert posted["rule_params"] == {}  # a LoRA base: the scan stays off
    shown = ok("project", "show", str(posted["project"]), "--data-dir", market.data_dir)
    assert shown["task"]["lora"] == posted["lora"]
    assert shown["task"]["num_params"] == posted["num_params"]


def test_project_model_before_any_round_is_the_posted_base(market: Market,
                                                           tmp_path: Path) -> None:
    base = _base(tmp_path, (32,))
    project = ok(*_post(market, "--lora-rank", "2", "--base-weights", base))["project"]
    out = tmp_path / "model.safetensors"

    written = ok("project", "model", str(project), "--out", str(out),
                 "--data-dir", market.data_dir)

    assert written["merged"] is True and written["num_params"] == 64 * 32 + 32 + 32 * 10 + 10
    model, posted = load_file(str(out)), load_file(base)
    assert model.keys() == posted.keys()
    assert all(torch.equal(model[n], posted[n]) for n in posted)  # B = 0 at round 0
