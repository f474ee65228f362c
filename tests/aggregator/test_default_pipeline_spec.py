"""A project posted with the defaults gets the trusted pipeline when the owner has data."""

from __future__ import annotations

import pytest

from fedmarket.errors import ConfigError
from fedmarket.owner import ProjectRequest, build_spec, check_request
from fedmarket.scan_default import DEFAULT_BAR

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
AGGREGATOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_defaults_with_validation_data_are_trusted_and_group_shapley():
    request = ProjectRequest(budget_wei=10**18, aggregator=AGGREGATOR)

    spec = build_spec(request, validation_cid="bafkvalidation")

    # digits features, 10 classes, a small MLP: the trigger scan is on at its default bar
    assert (spec.aggregation.rule, dict(spec.aggregation.params)) == (
        "trusted", {"shortcut_bar": DEFAULT_BAR})
    assert spec.scoring.method == "group_shapley"


@pytest.mark.parametrize("change", [
    {"num_classes": 2},  # two classes: the cheapest mask is the weaker class (measured)
    {"model": "cnn", "input_shape": (1, 8, 8), "hidden": (4, 8)},  # images: not measured
    {"hidden": (512, 512)},  # over DEFAULT_MAX_PARAMS
])
def test_the_scan_is_off_by_default_where_it_was_not_measured(change):
    task = {"input_shape": (64,), "num_classes": 10, "hidden": (64,), **change}
    request = ProjectRequest(budget_wei=10**18, aggregator=AGGREGATOR, validation="own.npz",
                             **task)

    spec = build_spec(request, validation_cid="bafkvalidation")

    assert dict(spec.aggregation.params) == {}


@pytest.mark.parametrize("params", [{}, {"shortcut_bar": 0}, {"shortcut_bar": 0.3}])
def test_explicit_trusted_params_are_kept(params):
    request = ProjectRequest(budget_wei=10**18, aggregator=AGGREGATOR, rule="trusted",
                             rule_params=params)

    spec = build_spec(request, validation_cid="bafkvalidation")

    assert dict(spec.aggregation.params) == params


def test_defaults_without_validation_data_are_multi_krum_and_cosine():
    request = ProjectRequest(budget_wei=10**18, aggregator=AGGREGATOR, validation=None,
                             input_shape=(64,), num_classes=10)

    spec = build_spec(request, validation_cid=None)

    assert (spec.aggregation.rule, dict(spec.aggregation.params)) == ("multi_krum", {"f": 2})
    assert spec.scoring.method == "cosine"


def test_old_default_stays_selectable():
    request = ProjectRequest(budget_wei=10**18, aggregator=AGGREGATOR, rule="multi_krum",
                             rule_params={"f": 1}, scoring="gtg_shapley")

    spec = build_spec(request, validation_cid="bafkvalidation")

    assert (spec.aggregation.rule, spec.scoring.method) == ("multi_krum", "gtg_shapley")


def test_trusted_without_validation_data_is_refused_before_escrow():
    request = ProjectRequest(budget_wei=10**18, aggregator=AGGREGATOR, rule="trusted",
                             validation=None)

    with pytest.raises(ConfigError, match="reference update on the owner's validation data"):
        check_request(request, OWNER)
