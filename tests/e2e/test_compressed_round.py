"""A project that declares update compression: trained, sent, aggregated and verified compressed.

The trainers send int8 or top-k updates (:mod:`fedmarket.codec_compressed`); the aggregator and
each verifier decode them to the same float32 rows — int8 by one float32 multiplication per
value, top-k by a scatter — so the committee's re-execution agrees with the posted result even
when aggregator and verifiers run with different CPU thread counts. An update in another form
than the project's is rejected with its reason before the round pays anyone.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import torch

from fedmarket.chain.types import RoundStatus
from fedmarket.codec import UpdateHeader, read_header
from fedmarket.codec_stream import store_file
from fedmarket.compression_spec import Compression
from fedmarket.modelspec import ModelSpec
from fedmarket.rewards_query import round_result_of
from tests.contracts.scenario import travel_past
from tests.e2e.market import Market, build_market
from trainer.client import TrainerClient
from trainer.local_training import LocalUpdate
from trainer.residual import residual_path


def compressed_market(client_for, tmp_path: Path, how: Compression) -> Market:
    return build_market(client_for, tmp_path, trainers=6, attacks={5: "sign_flip"}, rounds=1,
                        rule_params={"f": 1}, compression=how)


def _finalize(market: Market) -> None:
    travel_past(market.w3, market.round_info().deadlines.verify)
    assert market.aggregator.step(market.project)


@pytest.mark.parametrize("how", [Compression("int8"), Compression("topk", 0.1)],
                         ids=["int8", "topk"])
def test_a_compressed_round_aggregated_on_one_thread_verifies_on_two(
        client_for, tmp_path: Path, how: Compression) -> None:
    market = compressed_market(client_for, tmp_path, how)
    threads = torch.get_num_threads()
    market.commit_and_reveal()
    try:
        torch.set_num_threads(1)
        assert market.aggregator.step(market.project)
        torch.set_num_threads(2)
        for verifier in market.verifiers[:2]:
            assert verifier.step(market.project)
    finally:
        torch.set_num_threads(threads)
    _finalize(market)

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and (info.agrees, info.disagrees) == (2, 0)
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    forms = {read_header(market.store.get(t.update_cid)).compression for t in result.trainers}
    assert forms == {how.kind}
    assert sum(t.accepted for t in result.trainers) == 5 and result.total > 0
    kept = residual_path(market.trainers[0].pending_dir, market.trainers[0].address,
                         market.project).exists()
    assert kept == (how.kind == "topk")  # only top-k holds values back for the next round


class PlainSender(TrainerClient):
    """A trainer that ignores the project's compression and sends float32 tensors."""

    def _store_update(self, spec: ModelSpec, project: int, round_: int,
                      update: LocalUpdate) -> str:
        header = UpdateHeader(project, round_, self.address, update.samples, spec.hash())
        return store_file(self.store, "update", update.delta, header, spec.param_shapes())


def test_an_update_in_the_wrong_form_is_rejected_before_anyone_is_paid(
        client_for, tmp_path: Path) -> None:
    market = compressed_market(client_for, tmp_path, Compression("int8"))
    honest = market.trainers[0]
    market.trainers[0] = PlainSender(**{f.name: getattr(honest, f.name)
                                        for f in fields(honest) if f.init})
    market.commit_and_reveal()
    assert market.aggregator.step(market.project)
    for verifier in market.verifiers[:2]:
        assert verifier.step(market.project)
    _finalize(market)

    info = market.owner.market.round(market.project, 1)
    assert info.status == RoundStatus.FINALIZED and (info.agrees, info.disagrees) == (2, 0)
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    entry = next(t for t in result.trainers if t.address == honest.address)
    assert not entry.accepted and entry.reward == 0
    assert entry.reason == ("invalid_update: update is uncompressed float32, the project's "
                            "spec declares int8-quantised updates")
