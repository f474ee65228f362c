"""Example 4, fine-tuning, through the whole market: LoRA adapters on an owner's posted base.

The owner pre-trains on digits 0-4 and posts the weights; five trainers fine-tune rank-2
adapters on their shares of every class; one round is committed, revealed, aggregated,
verified, paid and audited, with updates that hold the adapters only.
"""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fedmarket.chain.types import RoundStatus
from fedmarket.codec import decode_model, decode_update, encode_update
from fedmarket.evaluation import evaluate_weights
from fedmarket.examples import get_example
from fedmarket.examples.finetune import finetune_data
from fedmarket.final_model import final_model
from fedmarket.rewards_query import claim_rewards, round_result_of
from tests.e2e.market import build_market
from verifier.audit import audit_project


@pytest.mark.parametrize("rule", ["multi_krum", None])  # None: trusted + group_shapley
def test_finetune_round_moves_adapters_only_and_beats_the_base(client_for, tmp_path: Path,
                                                               rule: str | None) -> None:
    market = build_market(client_for, tmp_path, trainers=5, rounds=1, rule=rule,
                          example=get_example("finetune"))

    market.play_round()
    while market.aggregator.step(market.project):  # settles, then finishes the project
        pass

    spec = market.posted.spec
    assert spec.lora is not None and spec.lora.freeze_a
    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and info.agrees >= 2 and info.disagrees == 0
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    # The base knows 0-4 only: about half the validation set; fine-tuning must add to it.
    assert result.metrics["base_accuracy"] < 0.55 < result.metrics["accuracy"]
    update_bytes = market.store.get(result.trainers[0].update_cid)
    tensors, header = decode_update(update_bytes, spec)
    assert {k: tuple(v.shape) for k, v in tensors.items()} == spec.param_shapes()
    # The same update for the whole model: the base spec's tensors, same header.
    plain = replace(spec, lora=None)
    full_update = encode_update({n: torch.zeros(shape) for n, shape in
                                 plain.param_shapes().items()},
                                replace(header, spec_hash=plain.hash()), plain)
    assert plain.num_params() / spec.num_params() >= 20
    assert len(full_update) / len(update_bytes) >= 20
    print(f"finetune ({rule}): base {result.metrics['base_accuracy']:.3f} -> "
          f"{result.metrics['accuracy']:.3f}; update {len(update_bytes)} B vs full "
          f"{len(full_update)} B ({len(full_update) / len(update_bytes):.1f}x), params "
          f"{spec.num_params()} vs {plain.num_params()}")
    # The owner's final model: the declared arch, scoring what the market scored its adapters.
    final = final_model(market.owner.market, market.store, market.project)
    assert final.model_cid == info.model_cid and final.merged
    assert {n: tuple(t.shape) for n, t in final.weights.items()} == spec.base_shapes()
    data = finetune_data()
    adapters, _ = decode_model(market.store.get(info.model_cid), spec)
    assert evaluate_weights(plain, final.weights, data) == evaluate_weights(spec, adapters, data)
    paid = sum(claim_rewards(t.contracts, market.store, t.address)[0] for t in market.trainers)
    assert paid == result.total > 0
    audit = audit_project(market.owner, market.store, market.project,
                          market.deployment.start_block)
    assert audit.passed, audit.to_json()
