"""Check a round's on-chain proof from chain and storage alone (``fedmarket audit`` calls this).

The proof is read back from the market's ``RoundProofVerified`` event. Every public input is
re-derived independently of the prover: the sketches from the revealed updates (fetched by
CID, hash-checked) with the round's on-chain seed, the decisions and ``f``/``m`` from the result
JSON whose hash is on chain, pool and ``nActive`` (reveal count) from the round's state. The
proof is then checked with the py-ecc verifier, and the claim posted with the result must be
the hash of the re-derived roots, ``f`` and ``m``.
"""

from __future__ import annotations

from aggregator.inputs import gather_round
from fedmarket.chain.market import MarketContracts
from fedmarket.chain.types import proof_claim_for
from fedmarket.errors import FedmarketError
from fedmarket.protocol import load_spec
from fedmarket.rewards_query import round_result_of
from fedmarket.storage.base import ContentStore
from fedmarket.zk import ONCHAIN_N_MAX, PUBLIC_INPUTS, Groth16Proof
from fedmarket.zk.round import UnprovableRound, round_statement
from verifier.zk.verify import verify_round_proof

__all__ = ["check_round_proof"]


def check_round_proof(contracts: MarketContracts, store: ContentStore, project: int,
                      round_: int, from_block: int = 0) -> tuple[bool | None, str]:
    """``(None, why)`` without a proof, else whether the posted proof holds, and what was checked.

    ``False`` names the first public input that differs from the re-derived one, or says that
    the pairing check failed.
    """
    market = contracts.market
    info = market.round(project, round_)
    if not info.proof_verified:
        return None, "no proof posted"
    posted = market.verified_proof(project, round_, from_block)
    if posted is None:
        return False, "the round is marked proven but no RoundProofVerified event was found"
    state = market.round_proof(project, round_)
    try:
        spec = load_spec(store, market.project(project).params.model_spec_cid)
        result = round_result_of(store, info.result_cid, info.result_hash)
        inputs = gather_round(market, store, spec, project, round_, from_block).inputs
        if [t.lower() for t in inputs.trainers] != [t.address.lower() for t in result.trainers]:
            return False, "the result's trainers are not the round's revealed trainers"
        statement = round_statement(result, [row.double().numpy() for row in inputs.updates],
                                    state.seed, check=False)
        expected = statement.public_inputs(ONCHAIN_N_MAX)
    except UnprovableRound as exc:
        return False, f"the round cannot carry a proof, yet one was recorded: {exc}"
    except (FedmarketError, ValueError) as exc:
        return False, f"cannot re-derive the public inputs: {exc}"
    # The market itself supplied pool, nActive and seed; the rest came with the proof.
    on_chain = [posted.sketch_root, posted.decisions_root, info.trainer_pool_wei,
                info.reveals, posted.f, posted.m, state.seed]
    for name, mine, theirs in zip(PUBLIC_INPUTS, expected, on_chain, strict=True):
        if mine != theirs:
            return False, f"{name} of the proof ({theirs}) differs from the re-derived {mine}"
    if proof_claim_for(expected[0], expected[1], expected[4], expected[5]) != state.claim:
        return False, "the claim posted with the result is not the re-derived inputs' hash"
    proof = Groth16Proof.from_solidity(posted.a, posted.b, posted.c)
    if not verify_round_proof(proof, expected, ONCHAIN_N_MAX):
        return False, "the proof fails the pairing check (py-ecc)"
    return True, (f"Groth16 proof verified (py-ecc, N_MAX={ONCHAIN_N_MAX}) against public inputs "
                  "re-derived from the updates, the result and the round's state")
