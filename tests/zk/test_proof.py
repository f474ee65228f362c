"""Payout proofs: valid ones verify in Python and on chain; tampered ones fail in both.

A corpus of valid and tampered proofs — every non-canonical encoding of each point coordinate
and of each public input included — gets the same answer from py-ecc (the audit's verifier)
and the generated Solidity verifier, except the one malleation the generated verifier accepts
(A's y + q + 2^256 mod q), which is why RoundProofs refuses non-canonical coordinates itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import G1, b2, is_inf, is_on_curve, multiply, normalize

from fedmarket.errors import VerificationError
from fedmarket.zk.binding import payout_challenge
from fedmarket.zk.groth16 import BASE_FIELD, SCALAR_FIELD
from fedmarket.zk.prover import compute_witness
from tests.zk.conftest import ProvenRound, make_statement, onchain_verify, prove
from verifier.zk import Groth16Proof, prove_payout, verify_payout_proof


def with_payout(round_: ProvenRound, amounts=None, accepted=None, trainers=None) -> list[int]:
    """The round's public inputs with the binding recomputed for another payout."""
    s = round_.statement
    amounts = list(s.amounts) if amounts is None else amounts
    accepted = [x.accepted for x in s.slots] if accepted is None else accepted
    trainers = list(s.trainers) if trainers is None else trainers
    r, h = payout_challenge(s.project, s.round, s.root, trainers, amounts, accepted)
    return [*round_.public_inputs[:2], r, h]


def g1_point(k: int) -> tuple[int, int]:
    x, y = normalize(multiply(G1, k))
    return int(x.n), int(y.n)


def test_a_proof_verifies_in_python_and_on_chain(round8: ProvenRound, deploy_verifier):
    assert round8.size == 8 and round8.statement.n == 7
    assert verify_payout_proof(round8.proof, round8.public_inputs, 8)
    assert verify_payout_proof(round8.proof, round8.public_inputs)  # any size holding it
    assert onchain_verify(deploy_verifier(8), round8.proof, round8.public_inputs)


def test_a_full_64_trainer_round_verifies(round64: ProvenRound, deploy_verifier):
    assert round64.size == 64 and round64.statement.n == 64
    assert verify_payout_proof(round64.proof, round64.public_inputs)
    assert onchain_verify(deploy_verifier(64), round64.proof, round64.public_inputs)


def test_a_small_round_proven_with_a_larger_circuit_verifies_by_default():
    statement = make_statement(5, seed=1)
    proof, public, size = prove_payout(statement, 16)

    assert size == 16 and verify_payout_proof(proof, public)
    assert not verify_payout_proof(proof, public, 8)  # a proof is for the circuit it used


def test_one_wei_moved_between_trainers_is_refused(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    amounts = list(round8.statement.amounts)
    paid = [i for i, a in enumerate(amounts) if a > 0]
    amounts[paid[0]] += 1
    amounts[paid[1]] -= 1
    inputs = with_payout(round8, amounts=amounts)
    assert not verify_payout_proof(round8.proof, inputs, 8)
    assert not onchain_verify(verifier, round8.proof, inputs)


def test_a_flipped_verdict_or_another_address_is_refused(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    s = round8.statement
    unpaid = next(i for i, a in enumerate(s.amounts) if a == 0)
    accepted = [x.accepted for x in s.slots]
    accepted[unpaid] = not accepted[unpaid]
    trainers = list(s.trainers)
    trainers[unpaid] = "0x" + "ee" * 20
    for inputs in (with_payout(round8, accepted=accepted), with_payout(round8, trainers=trainers)):
        assert not verify_payout_proof(round8.proof, inputs, 8)
        assert not onchain_verify(verifier, round8.proof, inputs)


def malleated(proof: Groth16Proof) -> Groth16Proof:
    """The proof with A's y replaced by a non-canonical integer the generated verifier reduces.

    The verifier negates A as ``mod(sub(q, y'), q)`` in 256-bit arithmetic: for
    ``y' = y + q + (2^256 mod q)`` that wraps to ``q - y`` exactly, so the pairing is unchanged.
    """
    x, y = proof.a
    forged = y + BASE_FIELD + (2**256 % BASE_FIELD)
    assert BASE_FIELD <= forged < 2**256
    return replace(proof, a=(x, forged))


def test_a_malleated_encoding_passes_the_generated_verifier_but_not_py_ecc(
        round8: ProvenRound, deploy_verifier):
    # Why RoundProofs accepts canonical coordinates only (tests/contracts/test_proofs.py).
    forged = malleated(round8.proof)
    assert onchain_verify(deploy_verifier(8), forged, round8.public_inputs)
    assert not verify_payout_proof(forged, round8.public_inputs, 8)


def twist_point_outside_subgroup() -> tuple[tuple[int, int], tuple[int, int]]:
    """A point on the G2 twist whose order is not r (the twist's cofactor is huge)."""
    minus_one = FQ2([BASE_FIELD - 1, 0])
    for k in range(1, 100):
        x = FQ2([k, 1])
        rhs = x**3 + b2
        a1 = rhs ** ((BASE_FIELD - 3) // 4)  # sqrt for q = 3 mod 4 (Adj, Rodriguez-Henriquez)
        alpha = a1 * a1 * rhs
        if alpha**BASE_FIELD * alpha == minus_one:
            continue  # not a square
        y = FQ2([0, 1]) * a1 * rhs if alpha == minus_one else (
            (FQ2.one() + alpha) ** ((BASE_FIELD - 1) // 2) * a1 * rhs)
        point = (x, y, FQ2.one())
        assert y * y == rhs and is_on_curve(point, b2)
        if not is_inf(multiply(point, SCALAR_FIELD)):
            return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))
    raise AssertionError("no twist point found")


def _plus_q(proof: Groth16Proof, which: str, k: int) -> Groth16Proof:
    """``proof`` with coordinate ``k`` of point ``which`` replaced by itself + q."""
    if which == "a" or which == "c":
        point = list(getattr(proof, which))
        point[k] += BASE_FIELD
        return replace(proof, **{which: tuple(point)})
    coords = [list(c) for c in proof.b]
    coords[k // 2][k % 2] += BASE_FIELD
    return replace(proof, b=(tuple(coords[0]), tuple(coords[1])))


def _corpus(round8: ProvenRound, other: ProvenRound) -> list[tuple[str, Groth16Proof,
                                                                   list[int], bool]]:
    proof, inputs = round8.proof, round8.public_inputs
    (bx0, bx1), (by0, by1) = proof.b
    cases: list[tuple[str, Groth16Proof, list[int], bool]] = [
        ("valid", proof, inputs, True),
        ("pool + 1", proof, [inputs[0], inputs[1] + (1 << 64), *inputs[2:]], False),
        ("nActive - 1", proof, [inputs[0], inputs[1] - (1 << 57), *inputs[2:]], False),
        ("params changed", proof, [inputs[0], inputs[1] ^ 8, *inputs[2:]], False),
        ("root changed", proof, [inputs[0] ^ 1, *inputs[1:]], False),
        ("r changed", proof, [*inputs[:2], inputs[2] ^ 1, inputs[3]], False),
        ("A negated", replace(proof, a=(proof.a[0], BASE_FIELD - proof.a[1])), inputs, False),
        ("A off curve", replace(proof, a=(proof.a[0], proof.a[1] ^ 1)), inputs, False),
        ("A at infinity", replace(proof, a=(0, 0)), inputs, False),
        ("B coordinates swapped", replace(proof, b=((bx1, bx0), (by1, by0))), inputs, False),
        ("B off twist", replace(proof, b=((bx0, bx1), (by0, by1 ^ 1))), inputs, False),
        ("B outside subgroup", replace(proof, b=twist_point_outside_subgroup()), inputs, False),
        ("C = A", replace(proof, c=proof.a), inputs, False),
        ("C other point", replace(proof, c=g1_point(7)), inputs, False),
        ("other round's proof", other.proof, inputs, False),
    ]
    # Every input + R: the same field element, a different byte string.
    for k, name in enumerate(("measurementsRoot", "statement", "r", "h")):
        shifted = list(inputs)
        shifted[k] += SCALAR_FIELD
        cases.append((f"{name} + R", proof, shifted, False))
    # Every coordinate + q but A's y (which the generated verifier reduces: test above).
    for which, count in (("a", 1), ("b", 4), ("c", 2)):
        for k in range(count):
            cases.append((f"{which}[{k}] + q", _plus_q(proof, which, k), inputs, False))
    return cases


def test_python_and_solidity_verifiers_agree_on_corpus(round8, deploy_verifier):
    verifier = deploy_verifier(8)
    other = prove(make_statement(7, seed=5))
    for name, proof, inputs, expected in _corpus(round8, other):
        python = verify_payout_proof(proof, inputs, 8)
        solidity = onchain_verify(verifier, proof, inputs)
        assert (name, python, solidity) == (name, expected, expected)


def test_verify_rejects_wrong_input_count_and_types(round8: ProvenRound):
    assert not verify_payout_proof(round8.proof, round8.public_inputs[:-1], 8)
    assert not verify_payout_proof(round8.proof, [*round8.public_inputs, 0], 8)
    proof = replace(round8.proof, a=(str(round8.proof.a[0]), round8.proof.a[1]))
    assert not verify_payout_proof(proof, round8.public_inputs, 8)
    assert not verify_payout_proof(round8.proof, [True, *round8.public_inputs[1:]], 8)
    assert not verify_payout_proof(round8.proof, round8.public_inputs, 12)


def test_the_prover_refuses_a_verdict_the_measurements_do_not_give():
    statement = make_statement(6, seed=2)
    i = next(i for i, s in enumerate(statement.slots) if not s.accepted)
    slots = list(statement.slots)
    slots[i] = replace(slots[i], accepted=True)
    with pytest.raises(VerificationError, match="not the one its measurements give"):
        prove_payout(replace(statement, slots=tuple(slots)))


def test_the_circuit_refuses_it_too_without_the_python_check(tmp_path: Path):
    statement = make_statement(6, seed=2)
    i = next(i for i, s in enumerate(statement.slots) if not s.accepted)
    slots = list(statement.slots)
    slots[i] = replace(slots[i], accepted=True)
    bad = replace(statement, slots=tuple(slots))  # root, hints and binding consistent with it
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(bad.witness_input(8), 8, tmp_path / "bad.wtns")


def test_the_circuit_refuses_a_share_that_is_not_the_floor(tmp_path: Path):
    statement = make_statement(6, seed=3)
    data = statement.witness_input(8)
    paid = next(i for i, a in enumerate(statement.amounts) if a > 0)
    data["share"][paid] = str(int(data["share"][paid]) - 1)
    data["remainder"][paid] = str(int(data["remainder"][paid]) + sum(
        s.contribution for s in statement.slots if s.accepted and s.contribution > 0))
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")


def test_an_empty_slot_must_commit_nothing(tmp_path: Path):
    statement = make_statement(5, seed=4)
    data = statement.witness_input(8)
    data["trainer"][7] = str(0xABC)
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")
