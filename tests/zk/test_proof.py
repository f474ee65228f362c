"""Round proofs: valid ones verify in Python and on chain; tampered ones fail in both."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import G1, b2, is_inf, is_on_curve, multiply, normalize

from fedmarket.errors import VerificationError
from fedmarket.zk.groth16 import BASE_FIELD, SCALAR_FIELD
from fedmarket.zk.prover import compute_witness
from fedmarket.zk.sketch import SKETCH_OFFSET
from tests.zk.conftest import ProvenRound, make_statement, onchain_verify
from verifier.zk import (
    Groth16Proof,
    circuit_size,
    commitment,
    proportional_split,
    prove_round,
    round_public_inputs,
    verify_round,
    verify_round_proof,
)


def inputs_with(round_: ProvenRound, **changes) -> list[int]:
    """Public inputs of the round as published, with some published values replaced."""
    s = round_.statement
    fields = dict(commitments=s.commitments(), flags=list(s.flags), scores=list(s.scores),
                  amounts=list(s.amounts), pool=s.pool, f=s.f, m=s.m, seed=s.seed)
    fields.update(changes)
    return round_public_inputs(n_max=round_.n_max, **fields)


def g1_point(k: int) -> tuple[int, int]:
    x, y = normalize(multiply(G1, k))
    return int(x.n), int(y.n)


def test_prove_round_valid_proof_verifies_in_python(round8: ProvenRound):
    assert verify_round_proof(round8.proof, round8.public_inputs, 8)


def test_verify_proof_valid_proof_accepted_onchain(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    assert onchain_verify(verifier, round8.proof, round8.public_inputs)


def test_verify_proof_full_sixteen_trainer_round(round16: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(16)
    assert round16.public_inputs[3] == 16
    assert verify_round_proof(round16.proof, round16.public_inputs)
    assert onchain_verify(verifier, round16.proof, round16.public_inputs)


def test_verify_proof_tampered_flag_rejected(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    flags = list(round8.statement.flags)
    honest = flags.index(False)
    flags[honest] = True
    inputs = inputs_with(round8, flags=flags, m=round8.statement.m - 1)
    assert not verify_round_proof(round8.proof, inputs, 8)
    assert not onchain_verify(verifier, round8.proof, inputs)


def test_verify_proof_tampered_amount_rejected(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    amounts = list(round8.statement.amounts)
    paid = [i for i, a in enumerate(amounts) if a > 0]
    amounts[paid[0]] += 1000
    amounts[paid[1]] -= 1000
    inputs = inputs_with(round8, amounts=amounts)
    assert not verify_round_proof(round8.proof, inputs, 8)
    assert not onchain_verify(verifier, round8.proof, inputs)


def test_verify_proof_tampered_commitment_rejected(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    commitments = round8.statement.commitments()
    other = list(round8.statement.sketches[3])
    other[0] += 1
    commitments[3] = commitment(other)
    inputs = inputs_with(round8, commitments=commitments)
    assert not verify_round_proof(round8.proof, inputs, 8)
    assert not onchain_verify(verifier, round8.proof, inputs)


def test_verify_proof_tampered_proof_point_rejected(round8: ProvenRound, deploy_verifier):
    verifier = deploy_verifier(8)
    proof = replace(round8.proof, c=g1_point(7))
    assert not verify_round_proof(proof, round8.public_inputs, 8)
    assert not onchain_verify(verifier, proof, round8.public_inputs)


def test_a_small_round_proven_with_the_market_circuit_verifies_by_default():
    # The market proves every round with N_MAX = 16; a 7-trainer proof must not need n_max.
    statement = make_statement(7)
    proof, public = prove_round(statement, 16)

    assert verify_round_proof(proof, public)
    assert verify_round(proof, statement.commitments(), statement.flags, statement.scores,
                        statement.amounts, statement.pool, statement.f, statement.m,
                        statement.seed)
    assert not verify_round_proof(proof, public, 8)  # a proof is for the circuit it used


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
    # Why RoundProofs accepts canonical coordinates only (tests/zk/test_market_integration.py):
    # without that check a third party could record this copy first and fail the audit.
    verifier = deploy_verifier(8)
    forged = malleated(round8.proof)
    assert onchain_verify(verifier, forged, round8.public_inputs)
    assert not verify_round_proof(forged, round8.public_inputs, 8)


def test_prove_round_wrong_flags_refused():
    statement = make_statement(6, outliers=1)
    flags = list(statement.flags)
    flags[0], flags[-1] = flags[-1], flags[0]  # flag an honest trainer, accept the outlier
    with pytest.raises(VerificationError, match="not the integer Multi-Krum"):
        prove_round(replace(statement, flags=flags))


def test_circuit_rejects_wrong_selection_even_with_consistent_hints(tmp_path: Path):
    # Bypass the Python pre-check: the circuit's own constraints must refuse the witness.
    statement = make_statement(6, outliers=1)
    flags = list(statement.flags)
    flags[0], flags[-1] = flags[-1], flags[0]
    amounts = proportional_split(statement.pool, statement.scores, flags)
    bad = replace(statement, flags=flags, amounts=amounts)
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(bad.witness_input(8), 8, tmp_path / "bad.wtns")


def test_circuit_rejects_wrong_amount_split(tmp_path: Path):
    statement = make_statement(6, outliers=1)
    amounts = list(statement.amounts)
    amounts[-1] -= 1  # one wei short: no longer the floor of the proportional share
    bad = replace(statement, amounts=amounts)
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(bad.witness_input(8), 8, tmp_path / "bad.wtns")


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


def _corpus(round8: ProvenRound, round16: ProvenRound) -> list[tuple[str, Groth16Proof,
                                                                      list[int], bool]]:
    proof, inputs = round8.proof, round8.public_inputs
    (bx0, bx1), (by0, by1) = proof.b
    cases: list[tuple[str, Groth16Proof, list[int], bool]] = [
        ("valid", proof, inputs, True),
        ("pool + 1", proof, [*inputs[:2], inputs[2] + 1, *inputs[3:]], False),
        ("seed changed", proof, [*inputs[:6], inputs[6] ^ 1], False),
        ("sketchRoot + r", proof, [inputs[0] + SCALAR_FIELD, *inputs[1:]], False),
        ("decisionsRoot = r - 1", proof, [inputs[0], SCALAR_FIELD - 1, *inputs[2:]], False),
        ("A negated", replace(proof, a=(proof.a[0], BASE_FIELD - proof.a[1])), inputs, False),
        ("A off curve", replace(proof, a=(proof.a[0], proof.a[1] ^ 1)), inputs, False),
        ("A x + q", replace(proof, a=(proof.a[0] + BASE_FIELD, proof.a[1])), inputs, False),
        ("A at infinity", replace(proof, a=(0, 0)), inputs, False),
        ("B coordinates swapped", replace(proof, b=((bx1, bx0), (by1, by0))), inputs, False),
        ("B off twist", replace(proof, b=((bx0, bx1), (by0, by1 ^ 1))), inputs, False),
        ("B outside subgroup", replace(proof, b=twist_point_outside_subgroup()), inputs, False),
        ("B y + q", replace(proof, b=((bx0, bx1), (by0 + BASE_FIELD, by1))), inputs, False),
        ("C = A", replace(proof, c=proof.a), inputs, False),
        ("other round's proof", round16.proof, inputs, False),
    ]
    return cases


def test_python_and_solidity_verifiers_agree_on_corpus(round8, round16, deploy_verifier):
    verifier = deploy_verifier(8)
    for name, proof, inputs, expected in _corpus(round8, round16):
        python = verify_round_proof(proof, inputs, 8)
        solidity = onchain_verify(verifier, proof, inputs)
        assert (name, python, solidity) == (name, expected, expected)


def test_verify_round_proof_rejects_wrong_input_count(round8: ProvenRound):
    assert not verify_round_proof(round8.proof, round8.public_inputs[:-1], 8)
    assert not verify_round_proof(round8.proof, [*round8.public_inputs, 0], 8)


def test_verify_round_proof_rejects_non_integer_values(round8: ProvenRound):
    proof = replace(round8.proof, a=(str(round8.proof.a[0]), round8.proof.a[1]))
    assert not verify_round_proof(proof, round8.public_inputs, 8)
    assert not verify_round_proof(round8.proof, [True, *round8.public_inputs[1:]], 8)


def test_verify_round_published_values(round8: ProvenRound):
    s = round8.statement
    args = (s.commitments(), s.flags, s.scores, s.amounts, s.pool, s.f, s.m, s.seed)
    assert verify_round(round8.proof, *args)
    assert not verify_round(round8.proof, *args[:4], s.pool - 1, *args[5:])


def test_prove_round_too_many_trainers():
    with pytest.raises(ValueError, match="at most 16 trainers"):
        circuit_size(17)


def test_empty_slot_sketch_must_be_zero(tmp_path: Path):
    # Slots past nActive carry no sketch: a non-zero one breaks the circuit's constraints.
    statement = make_statement(5, outliers=1)
    data = statement.witness_input(8)
    data["sketch"][7] = [str(SKETCH_OFFSET)] * 16
    with pytest.raises(VerificationError, match="wtns calculate failed"):
        compute_witness(data, 8, tmp_path / "bad.wtns")
