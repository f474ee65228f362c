"""Each example project through the whole market: commit, reveal, aggregate, verify, pay, audit.

Reduced to five trainers and one round; the owner and every trainer read the example's real
files (CSV, PNG folders, JSON Lines), so the loaders, the spec checks, the codec, the rule, the
scoring, the committee's re-execution and the audit all run on each new model kind.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from fedmarket.chain.types import RoundStatus
from fedmarket.codec import decode_update
from fedmarket.examples import get_example
from fedmarket.posted_tokenizer import ids_needed, parse_tokenizer, unload_tokenizers
from fedmarket.rewards_query import claim_rewards, round_result_of
from fedmarket.tokenizer_spec import PostedTokenizer
from tests.e2e.market import build_market
from tests.text_tokenizer import write_topic_tokenizer
from verifier.audit import audit_project


@pytest.mark.parametrize("name", ["tabular", "images", "text"])
def test_example_round_is_verified_paid_and_audited(client_for, tmp_path: Path,
                                                    name: str) -> None:
    market = build_market(client_for, tmp_path, trainers=5, rounds=1,
                          example=get_example(name))

    market.play_round()
    while market.aggregator.step(market.project):  # settles, then finishes the project
        pass

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and info.agrees >= 2 and info.disagrees == 0
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    assert result.metrics["accuracy"] > result.metrics["base_accuracy"]
    spec = market.posted.spec
    tensors, _ = decode_update(market.store.get(result.trainers[0].update_cid), spec)
    assert {k: tuple(v.shape) for k, v in tensors.items()} == spec.param_shapes()
    paid = sum(claim_rewards(t.contracts, market.store, t.address)[0] for t in market.trainers)
    assert paid == result.total > 0
    audit = audit_project(market.owner, market.store, market.project,
                          market.deployment.start_block)
    assert audit.passed, audit.to_json()


@pytest.mark.parametrize("name", ["tabular", "images", "text"])
def test_example_round_under_the_default_pipeline_is_verified_and_audited(
        client_for, tmp_path: Path, name: str) -> None:
    # The default for a project with validation data: the trusted rule trains a reference
    # update on it (so this re-executes training of the new model kinds) and group_shapley.
    market = build_market(client_for, tmp_path, trainers=5, rounds=1,
                          example=get_example(name), rule=None)

    market.play_round()
    while market.aggregator.step(market.project):
        pass

    spec = market.posted.spec
    assert (spec.aggregation.rule, spec.scoring.method) == ("trusted", "group_shapley")
    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and info.agrees >= 2 and info.disagrees == 0
    audit = audit_project(market.owner, market.store, market.project,
                          market.deployment.start_block)
    assert audit.passed, audit.to_json()


def test_text_round_with_a_posted_tokenizer_is_verified_paid_and_audited(
        client_for, tmp_path: Path) -> None:
    # A word-level tokenizer trained offline on the corpus, posted by CID, and a transformer
    # whose vocabulary (128) the byte tokenizer's 259 ids would not fit.
    path = write_topic_tokenizer(tmp_path / "tokenizer.json")
    need = ids_needed(parse_tokenizer(path.read_bytes(), "test"))
    text = get_example("text")
    example = replace(text, arch=replace(text.arch, vocab_size=128))
    market = build_market(client_for, tmp_path, trainers=5, rounds=1, example=example,
                          tokenizer=path)
    spec = market.posted.spec
    assert isinstance(spec.tokenizer, PostedTokenizer)
    assert market.store.get(spec.tokenizer.cid) == path.read_bytes()
    assert all(float(t.data.x.max()) < need for t in market.trainers)
    unload_tokenizers()  # every role now fetches the file by CID (hash-checked by the store)

    market.play_round()
    while market.aggregator.step(market.project):
        pass

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and info.agrees >= 2 and info.disagrees == 0
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    assert result.metrics["accuracy"] > result.metrics["base_accuracy"]
    paid = sum(claim_rewards(t.contracts, market.store, t.address)[0] for t in market.trainers)
    assert paid == result.total > 0
    audit = audit_project(market.owner, market.store, market.project,
                          market.deployment.start_block)
    assert audit.passed, audit.to_json()
