"""RoundProofs payout proofs: what the chain hands the verifier, every refusal, and the market.

The verifier here is ``tests/contracts/sol/ExpectedInputsVerifier.sol``: it accepts one proof
with one vector of six public inputs, so a passing proof shows that RoundProofs computed exactly
``[measurementsRoot, params | reveals << 57 | (pool - fee) << 64, r, h]`` with ``(r, h)`` of
``fedmarket.zk.binding``, and a refused one that a changed payout changes them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from py_ecc.optimized_bn128 import G1, G2, normalize
from web3 import Web3

from fedmarket.chain.client import BoundContract, ChainClient, dev_account
from fedmarket.chain.compile import Artifact, compile_contracts
from fedmarket.chain.deploy import DeployParams, deploy_contracts
from fedmarket.chain.deployment import Deployment
from fedmarket.chain.types import RoundPayout, RoundProof, RoundResult, RoundStatus, proof_claim_for
from fedmarket.errors import ContractRevert
from fedmarket.merkle import reward_tree
from fedmarket.zk.binding import SCALAR_FIELD
from fedmarket.zk.payout import pack_statement
from tests.contracts.scenario import AGGREGATOR, ETHER, OWNER, Scenario, travel_past

SOL = Path(__file__).parent / "sol"

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
MEASUREMENTS_ROOT, PARAMS = 11, 22
SIZES = (8, 16, 32, 64)


def _revert(call, *args, **kwargs) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture(scope="module")
def standin_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    return compile_contracts(SOL, tmp_path_factory.mktemp("standin-build"))


@pytest.fixture(scope="module")
def proving(w3: Web3, standin_artifacts: dict[str, Artifact]) -> tuple[Deployment, str]:
    """A deployment whose payout verifiers (every size) are one ExpectedInputsVerifier."""
    client = ChainClient(w3, dev_account(0), artifacts=standin_artifacts)
    standin, _ = client.deploy("ExpectedInputsVerifier")
    deployment = deploy_contracts(ChainClient(w3, dev_account(0)), DeployParams(
        payout_verifiers={size: standin.address for size in SIZES}))
    return deployment, standin.address


@pytest.fixture
def psc(proving: tuple[Deployment, str], chain: Web3) -> Scenario:
    return Scenario(chain, proving[0])


@pytest.fixture
def standin(psc: Scenario, proving: tuple[Deployment, str],
            standin_artifacts: dict[str, Artifact]) -> BoundContract:
    client = ChainClient(psc.w3, dev_account(0), artifacts=standin_artifacts)
    return client.bind("ExpectedInputsVerifier", proving[1])


def _proof(measurements_root: int = MEASUREMENTS_ROOT, params: int = PARAMS,
           size: int = 8) -> RoundProof:
    """Well-formed curve points (the generators): only the stand-in accepts them."""
    g1 = tuple(int(v.n) for v in normalize(G1))
    (x, y) = normalize(G2)
    g2 = ((int(x.coeffs[1]), int(x.coeffs[0])), (int(y.coeffs[1]), int(y.coeffs[0])))
    return RoundProof(g1, g2, g1, measurements_root, params, size)  # type: ignore[arg-type]


def _payout(sc: Scenario, indices: tuple[int, ...], amounts: dict[int, int],
            rejected: tuple[int, ...] = ()) -> RoundPayout:
    order = sorted(indices, key=lambda i: int(sc.address(i), 16))
    return RoundPayout(tuple(sc.address(i) for i in order),
                       tuple(amounts.get(i, 0) for i in order),
                       tuple(i not in rejected for i in order))


def _posted(sc: Scenario, payout: RoundPayout, indices: tuple[int, ...],
            claim: bytes | None = None) -> int:
    """Open a project, reveal ``indices``, post ``payout``'s tree with a proof claim."""
    project = sc.open_project(trainers=indices, max_trainers=64)
    sc.commit_reveal(project, 1, indices)
    leaves = [(t, a) for i, (t, a) in enumerate(zip(payout.trainers, payout.amounts, strict=True))
              if payout.has_leaf(i)]
    tree = reward_tree(project, 1, leaves)
    sc.actor(AGGREGATOR).market.submit_result(project, 1, RoundResult(
        "bafkreimodel", "bafkreiresult", Web3.keccak(text="result"),
        tree.root if tree else b"\x00" * 32, sum(payout.amounts),
        proof_claim_for(MEASUREMENTS_ROOT, PARAMS) if claim is None else claim))
    return project


def _expect(sc: Scenario, standin: BoundContract, project: int, payout: RoundPayout,
            proof: RoundProof) -> tuple[int, int]:
    r, h = payout.challenge(project, 1, proof.measurements_root)
    info = sc.actor(0).market.round(project, 1)
    inputs = [proof.measurements_root,
              pack_statement(proof.params, info.reveals, info.trainer_pool_wei), r, h]
    standin.transact("expect", *proof.to_abi()[:3], inputs)
    return r, h


INDICES = (6, 7, 8, 9)


@pytest.fixture
def round_(psc: Scenario, standin: BoundContract) -> tuple[int, RoundPayout]:
    """4 trainers: two paid, one rejected (a zero leaf), one accepted and unpaid (no leaf)."""
    payout = _payout(psc, INDICES, {6: ETHER, 7: ETHER // 2 + 1}, rejected=(8,))
    project = _posted(psc, payout, INDICES)
    _expect(psc, standin, project, payout, _proof())
    return project, payout


def _submit(sc: Scenario, project: int, proof: RoundProof, abi: tuple[Any, ...]) -> Any:
    proofs = sc.actor(0).market.proofs
    assert proofs is not None
    return proofs.transact("submitProof", project, 1, proof.to_abi(), abi)


def test_submit_proof_hands_the_verifier_the_round_and_the_binding(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    market = psc.actor(0).market

    receipt = market.submit_proof(project, 1, _proof(), payout)

    r, h = payout.challenge(project, 1, MEASUREMENTS_ROOT)
    assert market.round(project, 1).proof_verified
    seen = market.verified_proof(project, 1)
    assert seen is not None and (seen.proof, seen.challenge, seen.binding) == (_proof(), r, h)
    assert 0 < r < SCALAR_FIELD and 0 < h < SCALAR_FIELD
    print(f"submitProof gas, 4 trainers, stand-in verifier: {receipt['gasUsed']}")


@pytest.mark.parametrize("slot", range(len(INDICES)))
def test_submit_proof_one_wei_more_in_any_amount_refused(
        psc: Scenario, round_: tuple[int, RoundPayout], slot: int) -> None:
    project, payout = round_
    amounts = list(payout.amounts)
    amounts[slot] += 1
    other = replace(payout, amounts=tuple(amounts))

    err = _revert(_submit, psc, project, _proof(), other.to_abi(project, 1))

    assert err.name == "ProofsTotalMismatch"


def test_submit_proof_one_wei_moved_between_slots_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    amounts = list(payout.amounts)
    paid = [i for i, a in enumerate(amounts) if a > 0]
    amounts[paid[0]] -= 1
    amounts[paid[1]] += 1
    other = replace(payout, amounts=tuple(amounts))

    err = _revert(_submit, psc, project, _proof(), other.to_abi(project, 1))

    assert err.name == "ProofsRewardsRootMismatch"


def test_submit_proof_flipped_accepted_bit_of_a_paid_slot_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    """Same tree, same total: only the binding h (and r) differ, and the proof fails."""
    project, payout = round_
    paid = payout.amounts.index(ETHER)
    flipped = list(payout.accepted)
    flipped[paid] = not flipped[paid]
    other = replace(payout, accepted=tuple(flipped))

    err = _revert(_submit, psc, project, _proof(), other.to_abi(project, 1))

    assert (err.name, err.args_decoded) == ("ProofsRejected", (project, 1))


def test_submit_proof_flipped_accepted_bit_of_a_rejected_slot_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    rejected = payout.accepted.index(False)
    flipped = list(payout.accepted)
    flipped[rejected] = True
    other = replace(payout, accepted=tuple(flipped))
    slots, bits, _ = other.to_abi(project, 1)

    err = _revert(_submit, psc, project, _proof(), (slots, bits, payout.tree_order(project, 1)))

    assert err.name == "ProofsLeafCount"


def _order_case(payout: RoundPayout, project: int, case: str) -> bytes:
    order = list(payout.tree_order(project, 1))
    no_leaf = next(i for i in range(len(payout.trainers)) if not payout.has_leaf(i))
    if case == "missing":
        return bytes(order[1:])
    if case == "extra":
        return bytes([*order, no_leaf])
    if case == "not a leaf":
        return bytes([*order[:-1], no_leaf])
    if case == "out of range":
        return bytes([*order[:-1], len(payout.trainers)])
    if case == "duplicated":
        return bytes([order[0], *order[:-1]])
    assert case == "swapped"
    return bytes([order[1], order[0], *order[2:]])


@pytest.mark.parametrize(("case", "error"), [
    ("missing", "ProofsLeafCount"), ("extra", "ProofsLeafCount"),
    ("not a leaf", "ProofsNotALeaf"), ("out of range", "ProofsNotALeaf"),
    ("duplicated", "ProofsTreeOrderNotAscending"), ("swapped", "ProofsTreeOrderNotAscending"),
])
def test_submit_proof_wrong_tree_order_refused(
        psc: Scenario, round_: tuple[int, RoundPayout], case: str, error: str) -> None:
    project, payout = round_
    slots, bits, _ = payout.to_abi(project, 1)

    err = _revert(_submit, psc, project, _proof(), (slots, bits, _order_case(payout, project,
                                                                             case)))

    assert err.name == error


def test_submit_proof_slots_out_of_order_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    slots, bits, order = payout.to_abi(project, 1)

    err = _revert(_submit, psc, project, _proof(), ([slots[1], slots[0], *slots[2:]], bits,
                                                    order))

    assert (err.name, err.args_decoded) == ("ProofsSlotsNotAscending", (1,))


def test_submit_proof_duplicated_slot_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    slots, bits, order = payout.to_abi(project, 1)

    err = _revert(_submit, psc, project, _proof(), ([slots[0], *slots[:-1]], bits, order))

    assert (err.name, err.args_decoded) == ("ProofsSlotsNotAscending", (1,))


def test_submit_proof_missing_slot_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    slots, bits, order = payout.to_abi(project, 1)

    err = _revert(_submit, psc, project, _proof(), (slots[:-1], bits, order))

    assert (err.name, err.args_decoded) == ("ProofsWrongSlotCount", (3, 4))


def test_submit_proof_stray_accepted_bit_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    slots, bits, order = payout.to_abi(project, 1)

    err = _revert(_submit, psc, project, _proof(), (slots, bits | 1 << 4, order))

    assert err.name == "ProofsStrayAcceptedBits"


@pytest.mark.parametrize("where", ["a.y", "b.y.c0", "c.x"])
def test_submit_proof_non_canonical_coordinate_refused(
        psc: Scenario, round_: tuple[int, RoundPayout], where: str) -> None:
    project, payout = round_
    p = _proof()
    if where == "a.y":
        p = replace(p, a=(p.a[0], p.a[1] + Q))
    elif where == "b.y.c0":
        p = replace(p, b=(p.b[0], (p.b[1][0], p.b[1][1] + Q)))
    else:
        p = replace(p, c=(p.c[0] + Q, p.c[1]))

    err = _revert(_submit, psc, project, p, payout.to_abi(project, 1))

    assert (err.name, err.args_decoded) == ("ProofsNonCanonical", (project, 1))


@pytest.mark.parametrize(("root", "params"), [(MEASUREMENTS_ROOT + SCALAR_FIELD, PARAMS),
                                              (MEASUREMENTS_ROOT, PARAMS + (1 << 57))])
def test_submit_proof_non_canonical_input_refused(psc: Scenario, standin: BoundContract,
                                                  root: int, params: int) -> None:
    """measurementsRoot + R, or params spilling into the packed trainer count, even with a
    claim posted for exactly that encoding."""
    payout = _payout(psc, (6, 7), {6: ETHER})
    project = _posted(psc, payout, (6, 7), proof_claim_for(root, params))
    p = _proof(measurements_root=root, params=params)

    err = _revert(_submit, psc, project, p, payout.to_abi(project, 1))

    assert (err.name, err.args_decoded) == ("ProofsNonCanonical", (project, 1))


def test_submit_proof_claim_mismatch_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    other = _proof(params=PARAMS + 1)

    err = _revert(psc.actor(0).market.submit_proof, project, 1, other, payout)

    assert err.name == "ProofsClaimMismatch"
    assert err.args_decoded == (project, 1, proof_claim_for(MEASUREMENTS_ROOT, PARAMS),
                                other.claim)


def test_submit_proof_for_unwired_size_refused(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_

    err = _revert(psc.actor(0).market.submit_proof, project, 1, _proof(size=4), payout)

    assert (err.name, err.args_decoded) == ("ProofsNoVerifier", (4,))


def test_submit_proof_without_claim_refused(psc: Scenario) -> None:
    payout = _payout(psc, (6, 7), {6: ETHER})
    project = _posted(psc, payout, (6, 7), claim=b"\x00" * 32)

    err = _revert(psc.actor(0).market.submit_proof, project, 1, _proof(), payout)

    assert (err.name, err.args_decoded) == ("ProofsNoClaim", (project, 1))


def test_submit_proof_twice_refused(psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    psc.actor(0).market.submit_proof(project, 1, _proof(), payout)

    err = _revert(psc.actor(0).market.submit_proof, project, 1, _proof(), payout)

    assert err.name == "ProofsAlreadyVerified"


def test_finalize_blocked_while_the_claimed_proof_is_unproven(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, _ = round_
    psc.attest(project, 1, (3, 4))  # the committee's verdict is final: phase Expired
    deadline = psc.actor(0).market.deadlines(project, 1).verify

    finalize = _revert(psc.actor(OWNER).market.finalize, project)
    advance = _revert(psc.actor(OWNER).market.advance, project)

    assert (finalize.name, finalize.args_decoded) == ("FedMarketRoundUnproven",
                                                      (project, 1, deadline))
    assert advance.name == "FedMarketRoundUnproven"


def test_finalize_after_the_proof_pays_the_round(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    psc.attest(project, 1, (3, 4))
    psc.actor(0).market.submit_proof(project, 1, _proof(), payout)

    psc.actor(OWNER).market.finalize(project)

    assert psc.actor(0).market.round(project, 1).status == RoundStatus.FINALIZED


def test_unproven_claim_at_the_verify_deadline_disputes_the_round(
        psc: Scenario, round_: tuple[int, RoundPayout]) -> None:
    project, payout = round_
    psc.attest(project, 1, (3, 4))  # the committee agreed: only the missing proof fails
    market = psc.actor(9).market  # anyone
    travel_past(psc.w3, market.deadlines(project, 1).verify)

    finalize = _revert(psc.actor(OWNER).market.finalize, project)
    late = _revert(market.submit_proof, project, 1, _proof(), payout)
    market.advance(project)

    assert (finalize.name, late.name) == ("FedMarketProofMissing", "ProofsWindowClosed")
    assert market.round(project, 1).status == RoundStatus.DISPUTED
    per_trainer, left, _ = market.compensation(project, 1)
    assert left == psc.actor(OWNER).market.project(project).params.aggregator_bond_wei
    assert per_trainer == left // len(INDICES)
    psc.assert_solvent()


@pytest.mark.parametrize(("amounts", "rejected"), [
    ({}, ()),  # nobody paid, nobody rejected: no leaf, the zero root
    ({6: ETHER}, ()),  # one leaf: the root is that leaf
    ({}, (6, 7, 8)),  # only zero leaves (every trainer rejected)
], ids=["no-leaf", "one-leaf", "all-rejected"])
def test_submit_proof_edge_trees_accepted(psc: Scenario, standin: BoundContract,
                                          amounts: dict[int, int], rejected: tuple[int, ...]
                                          ) -> None:
    indices = (6, 7, 8)
    payout = _payout(psc, indices, amounts, rejected)
    project = _posted(psc, payout, indices)
    _expect(psc, standin, project, payout, _proof())

    psc.actor(0).market.submit_proof(project, 1, _proof(), payout)

    assert psc.actor(0).market.round(project, 1).proof_verified
