"""A compressed round computed on one CPU thread is re-executed on two without a dispute.

The aggregator and a verifier need not run with the same thread count (nor device). Here eight
digits trainers (Dirichlet 0.5) send int8 updates; each side decodes them from the very files
(:mod:`fedmarket.codec_compressed`: one float32 multiplication per value, the same bits under
any thread count) and computes the round with the default pipeline (``trusted`` +
``group_shapley``), once under ``torch.set_num_threads(1)`` and once under ``(2)``; the
verifier's own comparison (:func:`verifier.reexecution.compare_results`) must find nothing.

What is compared how: the verdicts, reasons, sample counts, seed and every wei amount exactly;
robustness scores and metrics within ``FLOAT_TOLERANCE`` (1e-6 relative); the new model within
``MODEL_TOLERANCE`` when its bytes differ. A contribution is the fixed-point integer
``round(score * 10**6)``; if a score lands on a rounding boundary (its exact value near
``k + 1/2`` micro-units), a last-bit difference between the two thread counts rounds it to
neighbouring integers. Comparing those integers exactly would dispute an honest round, so a
published contribution may lie within ``CONTRIBUTION_SLACK`` (1 micro-unit) of the verifier's,
and the wei split, Merkle root and total are then re-derived exactly from the *published*
integers (``_check_payout``): an aggregator gains nothing beyond what rounding already allowed,
and any larger move of a score is still a difference. The test also asserts the integers came
out within that slack.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace

import pytest
import torch
from eth_utils import keccak

from aggregator.round import RoundInputs, RoundOutcome, compute_round_or_reject_all
from aggregator.utility import ValidationUtility
from fedmarket.codec import ModelHeader, UpdateHeader, encode_model, flatten, unflatten
from fedmarket.codec_compressed import write_compressed
from fedmarket.codec_stream import read_into
from fedmarket.compression import compress
from fedmarket.compression_spec import Compression
from fedmarket.datasets import load_data
from fedmarket.models import initial_weights
from fedmarket.modelspec import ModelSpec
from trainer.federation import Federation, default_round_spec, digits_spec, federation
from verifier.reexecution import (
    CONTRIBUTION_SLACK,
    MODEL_TOLERANCE,
    ReexecutionReport,
    compare_results,
)

PROJECT, ROUND, POOL = 1, 1, 10**18


@pytest.fixture(scope="module")
def blobs() -> Iterator[tuple[Federation, list[tuple[str, int, bytes]]]]:
    """Eight trainers' int8 update files of round 1, trained once (one thread, reproducible)."""
    spec = replace(digits_spec(), compression=Compression("int8"))
    fed = federation(load_data("digits"), parties=8, alpha=0.5, seed=0, spec=spec)
    weights = initial_weights(spec)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        files = []
        for party in range(8):
            delta = fed.honest_delta(party, ROUND, weights, b"round-1")
            address = "0x" + f"{party + 1:040x}"
            out = io.BytesIO()
            write_compressed(out, compress(delta, Compression("int8")), UpdateHeader(
                PROJECT, ROUND, address, len(fed.shards[party]), spec.hash(),
                compression="int8"), spec)
            files.append((address, len(fed.shards[party]), out.getvalue()))
    finally:
        torch.set_num_threads(before)
    yield fed, files


def _model_cid(spec: ModelSpec, base: torch.Tensor, aggregate: torch.Tensor) -> str:
    weights = unflatten((base.to(torch.float64) + aggregate.to(torch.float64))
                        .to(torch.float32), spec)
    return "0x" + keccak(encode_model(weights, ModelHeader(PROJECT, ROUND, spec.hash()),
                                      spec)).hex()  # stands in for the stored model's CID


def compute_under(threads: int, fed: Federation, files: list[tuple[str, int, bytes]]
                  ) -> RoundOutcome:
    """Decode the files and compute the round as the aggregator (and a verifier) does."""
    spec = fed.spec
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        weights = initial_weights(spec)
        base = flatten(weights)
        rows = torch.empty((len(files), spec.num_params()), dtype=torch.float32)
        for i, (_, _, blob) in enumerate(files):
            read_into(io.BytesIO(blob), "update", rows[i], spec)
        inputs = RoundInputs(
            project=PROJECT, round=ROUND, trainers=[a for a, _, _ in files],
            update_cids=[f"cid-{i}" for i in range(len(files))],
            samples=[s for _, s, _ in files], updates=rows, base_model_cid="cid-base",
            pool=POOL, global_model=base)
        utility = ValidationUtility(spec, weights, rows, inputs.samples, fed.validation)
        return compute_round_or_reject_all(
            inputs, default_round_spec(),
            model_cid=lambda aggregate: _model_cid(spec, base, aggregate), utility=utility)
    finally:
        torch.set_num_threads(before)


def test_a_compressed_round_on_one_thread_verifies_on_two_and_back(blobs) -> None:
    fed, files = blobs

    one = compute_under(1, fed, files)
    two = compute_under(2, fed, files)

    for published, mine in ((one, two), (two, one)):
        report = ReexecutionReport(PROJECT, ROUND, "verifier", "0x")
        compare_results(report, published.result, mine.result)
        assert report.agree, report.differences
        gap = float((published.aggregate.double() - mine.aggregate.double()).abs().max())
        assert gap <= MODEL_TOLERANCE
    assert [v.accepted for v in one.verdicts] == [v.accepted for v in two.verdicts]
    assert sum(v.accepted for v in one.verdicts) >= 6  # a real round: most updates paid
    assert all(abs(a - b) <= CONTRIBUTION_SLACK
               for a, b in zip(one.contributions, two.contributions, strict=True))
