"""The simulation API keeps a project's whole spec: task and architecture, not only digits."""

from __future__ import annotations

from dataclasses import replace

from aggregator.round import RoundInputs
from aggregator.utility import ValidationUtility
from fedmarket.datasets import load_data
from fedmarket.examples import get_example
from fedmarket.modelspec import ModelSpec
from trainer import federation as fed_api


def test_a_federation_of_another_task_trains_the_declared_architecture() -> None:
    example = get_example("images")  # 3x16x16 images, a CNN with GroupNorm
    spec = ModelSpec(model=example.model, arch=example.arch, input_shape=example.input_shape,
                     num_classes=example.num_classes,
                     training=replace(example.training, local_epochs=1))
    fed = fed_api.federation(example.make(0).dataset, parties=4, alpha=None, seed=0, spec=spec)

    result = fed_api.run(fed, fed_api.default_round_spec(), rounds=1)

    assert {n: tuple(t.shape) for n, t in result.weights.items()} == spec.param_shapes()
    assert any("norm" in name for name in spec.param_shapes())  # the GroupNorm is there


def test_an_observer_sees_every_round_before_it_is_computed() -> None:
    fed = fed_api.federation(load_data("digits"), parties=4, alpha=None, seed=0)
    seen: list[tuple[int, int, list[int], bool]] = []

    def observe(inputs: RoundInputs, utility: ValidationUtility, parties: list[int]) -> None:
        seen.append((inputs.round, inputs.updates.shape[0], parties,
                     utility.updates is inputs.updates))

    result = fed_api.run(fed, fed_api.default_round_spec(), {3: fed_api.sybil(accounts=3)},
                         rounds=2, observe=observe)

    assert [s[0] for s in seen] == [1, 2]
    for _, rows, parties, same in seen:
        assert rows == 6 and same  # three honest accounts, one party's three
        assert sorted(parties) == [0, 1, 2, 3, 3, 3]
    assert len(result.outcomes) == 2
