"""Layer 2 through the real market: a played round is claimed, proven and verified on chain.

One digits project, six trainers of which two flip their updates' sign; the aggregator's
Multi-Krum (f = 1, m = 4) rejects the flippers, and the integer Multi-Krum on the sketches
agrees, so the round can carry a proof.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import aggregator.service as service_module
from aggregator.proving import plan_proof
from fedmarket.chain.types import RoundProof
from fedmarket.errors import ContractRevert
from fedmarket.protocol import load_spec
from fedmarket.rewards_query import round_result_of
from fedmarket.zk import ONCHAIN_N_MAX, prove_round
from fedmarket.zk.groth16 import BASE_FIELD
from tests.e2e.market import Market, build_market
from verifier.zk import check_round_proof


class Notes:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def published(self, published: object) -> None:
        return None

    def note(self, message: str) -> None:
        self.lines.append(message)


def _market(client_for, tmp_path: Path) -> Market:  # type: ignore[no-untyped-def]
    return build_market(client_for, tmp_path, trainers=6, rounds=1, prove=True,
                        attacks={4: "sign_flip", 5: "sign_flip"})


def _revert(call, *args) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args)
    return caught.value


def test_published_round_gets_proof_verified_on_chain(client_for, tmp_path: Path) -> None:
    market = _market(client_for, tmp_path)
    notes = Notes()
    market.aggregator.reporter = notes

    market.play_round()

    info = market.owner.market.round(market.project, 1)
    assert info.proof_verified, notes.lines
    posted = market.owner.market.verified_proof(market.project, 1)
    assert posted is not None and (posted.f, posted.m) == (1, 4)
    assert any("proof verified on chain" in line for line in notes.lines)
    ok, why = check_round_proof(market.owner, market.store, market.project, 1)
    assert ok is True, why


def test_tampered_proof_refused_and_genuine_accepted(client_for, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The aggregator posts its claim but leaves the proving to us.
    monkeypatch.setattr(service_module, "prove_published_round", lambda *a, **k: None)
    market = _market(client_for, tmp_path)
    market.play_round()
    chain = market.owner.market
    info = chain.round(market.project, 1)
    assert chain.round_proof(market.project, 1).claimed and not info.proof_verified
    assert check_round_proof(market.owner, market.store, market.project, 1) == (
        None, "no proof posted")
    spec = load_spec(market.store, market.posted.spec_cid)
    result = round_result_of(market.store, info.result_cid, info.result_hash)
    plan = plan_proof(market.owner, market.store, spec, market.project, 1, result)
    proof, _public = prove_round(plan.statement, ONCHAIN_N_MAX)
    a, b, c = proof.solidity_args()
    genuine = RoundProof((a[0], a[1]), ((b[0][0], b[0][1]), (b[1][0], b[1][1])), (c[0], c[1]),
                         plan.claim.sketch_root, plan.claim.decisions_root, plan.claim.f,
                         plan.claim.m)

    other_root = _revert(chain.submit_proof, market.project, 1,
                         replace(genuine, decisions_root=genuine.decisions_root + 1))
    bad_point = _revert(chain.submit_proof, market.project, 1,
                        replace(genuine, c=genuine.a))
    forged_y = genuine.a[1] + BASE_FIELD + (2**256 % BASE_FIELD)  # see tests/zk/test_proof.py
    non_canonical = _revert(chain.submit_proof, market.project, 1,
                            replace(genuine, a=(genuine.a[0], forged_y)))
    receipt = chain.submit_proof(market.project, 1, genuine)
    again = _revert(chain.submit_proof, market.project, 1, genuine)

    assert other_root.name == "ProofsClaimMismatch"
    assert bad_point.name == "ProofsRejected"
    assert non_canonical.name == "ProofsNonCanonical"  # front-running with it fails
    assert again.name == "ProofsAlreadyVerified"
    assert chain.proofs is not None
    events = chain.proofs.events("RoundProofVerified", receipt)
    assert [(e["project"], e["round"]) for e in events] == [(market.project, 1)]
    assert chain.round(market.project, 1).proof_verified
    assert check_round_proof(market.owner, market.store, market.project, 1)[0] is True
    print(f"submitProof gas: {receipt['gasUsed']}")
