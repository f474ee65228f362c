"""An aggregator never bonds a project it cannot compute, and says why a round failed.

The broken project is posted directly through the contract binding with validation data that
does not fit its model — what `project post` now refuses, but what any other client (or an
older CLI) can still post — on a real node started by `chain up`.
"""

import io
from pathlib import Path

import numpy as np

from fedmarket.chain.types import ProjectParams, ProjectStatus, RoundStatus
from fedmarket.codec import ModelHeader, encode_model
from fedmarket.config import load_settings
from fedmarket.models import initial_weights
from fedmarket.modelspec import SCORING_METHODS
from fedmarket.owner import ProjectRequest, build_spec
from fedmarket.storage.factory import open_store
from tests.cli.conftest import Market, ok, refused

OWNER, AGGREGATOR, TRAINER = 1, 2, 6
BOND = 10**18


def _post_with_30_feature_validation(market: Market) -> int:
    rng = np.random.default_rng(30)
    buffer = io.BytesIO()
    np.savez(buffer, x=rng.random((200, 30), dtype=np.float32), y=rng.integers(0, 10, 200))
    store = open_store(load_settings({"data_dir": Path(market.data_dir)}))
    try:
        validation_cid = store.put(buffer.getvalue())
        request = ProjectRequest(budget_wei=10**18, aggregator="", rule="fedavg", rule_params={},
                                 input_shape=(64,), num_classes=10,
                                 min_trainers=1, max_trainers=4)
        spec = build_spec(request, validation_cid)
        spec_cid = store.put(spec.to_bytes())
        weights_cid = store.put(encode_model(initial_weights(spec),
                                             ModelHeader(0, 0, spec.hash()), spec))
    finally:
        store.close()
    aggregator = market.contracts(AGGREGATOR).market.contract.client.address
    params = ProjectParams(
        model_spec_cid=spec_cid, initial_weights_cid=weights_cid, aggregator=aggregator,
        aggregator_bond_wei=BOND, rounds=1, min_trainers=1, max_trainers=4, verifier_quorum=1,
        scoring_method=SCORING_METHODS.index(spec.scoring.method), commit_duration=600,
        reveal_duration=600, aggregate_duration=600, verify_duration=600)
    return market.contracts(OWNER).market.post_project(params, 10**18)


def test_an_aggregator_refuses_to_bond_a_project_whose_validation_data_does_not_fit(
        market: Market) -> None:
    project = _post_with_30_feature_validation(market)
    balance = market.balance(AGGREGATOR)

    message = refused("aggregator", "run", str(project), "--timeout", "30",
                      "--data-dir", market.data_dir)

    assert "cannot be aggregated, so no bond was posted" in message
    assert "30 features" in message and "expects 64" in message
    assert market.contracts(OWNER).market.project(project).status == ProjectStatus.CREATED
    assert market.balance(AGGREGATOR) == balance  # not a single transaction


def test_an_aggregator_that_cannot_compute_a_round_says_why_instead_of_crashing(
        market: Market) -> None:
    project = _post_with_30_feature_validation(market)
    ok("trainer", "register", "--account", str(TRAINER), "--data-dir", market.data_dir)
    ok("trainer", "join", str(project), "--account", str(TRAINER), "--data-dir", market.data_dir)
    market.contracts(AGGREGATOR).market.start_project(project, BOND)  # bonded elsewhere
    ok("trainer", "run", str(project), "--data", "digits", "--rounds", "1", "--timeout", "300",
       "--account", str(TRAINER), "--data-dir", market.data_dir)

    message = refused("aggregator", "run", str(project), "--timeout", "5",
                      "--data-dir", market.data_dir, notes=True)

    assert f"could not compute round 1 of project {project}" in message
    assert "200, 64" in message  # the reshape that cannot work, named
    assert market.contracts(OWNER).market.round(project, 1).status == RoundStatus.OPEN
