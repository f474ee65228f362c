"""Check a round's on-chain proof from chain and storage alone (``fedmarket audit`` calls this).

The proof is read back from the market's ``RoundProofVerified`` event. Every public input is
re-derived independently of the prover: the measurements, parameters, verdicts and rewards
from the result JSON whose hash is on chain (its rewards root is the posted one, checked when
it is read), pool and ``nActive`` (reveal count) from the round's state; the claim posted with
the result must be the hash of the re-derived measurements root and parameters, and the
payout challenge and binding the chain computed from its calldata (in the event) must be the
ones re-derived from the result's trainers, rewards and verdicts. The proof is
then checked with the py-ecc verifier for the circuit size it was verified with on chain, and
the published verdicts are re-derived from the measurements in Python too (what the proof
states, checked a second way).
"""

from __future__ import annotations

from fedmarket.chain.market import MarketContracts
from fedmarket.errors import FedmarketError
from fedmarket.rewards_query import round_result_of
from fedmarket.storage.base import ContentStore
from fedmarket.zk import PUBLIC_INPUTS, Groth16Proof
from fedmarket.zk.payout import pack_statement
from fedmarket.zk.round import UnprovableRound, claim_hash, payout_statement
from verifier.zk.verify import verify_payout_proof

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
        result = round_result_of(store, info.result_cid, info.result_hash)
        statement = payout_statement(result, check=False)
        expected = statement.public_inputs()
    except UnprovableRound as exc:
        return False, f"the round cannot carry a proof, yet one was recorded: {exc}"
    except (FedmarketError, ValueError) as exc:
        return False, f"cannot re-derive the public inputs: {exc}"
    if statement.n != info.reveals or statement.pool != info.trainer_pool_wei:
        return False, (f"the result's {statement.n} trainers and pool {statement.pool} are not "
                       f"the round's {info.reveals} reveals and pool {info.trainer_pool_wei}")
    params = statement.params.packed()
    on_chain = [posted.measurements_root, pack_statement(posted.params, info.reveals,
                                                         info.trainer_pool_wei),
                posted.challenge, posted.binding]
    for name, mine, theirs in zip(PUBLIC_INPUTS, expected, on_chain, strict=True):
        if mine != theirs:
            return False, f"{name} of the proof ({theirs}) differs from the re-derived {mine}"
    if claim_hash(expected[0], params) != state.claim:
        return False, "the claim posted with the result is not the re-derived inputs' hash"
    try:
        statement.check()
    except ValueError as exc:
        return False, f"the published verdicts do not follow from the measurements: {exc}"
    proof = Groth16Proof.from_solidity(posted.a, posted.b, posted.c)
    if not verify_payout_proof(proof, expected, posted.size):
        return False, "the proof fails the pairing check (py-ecc)"
    return True, (f"Groth16 payout proof verified (py-ecc, N={posted.size}) against public "
                  "inputs re-derived from the result and the round's state")
